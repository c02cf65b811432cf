"""The client's address through trusted proxies only: audit rows, lock-outs and logs see the client."""

import json

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from audit.models import AuditEvent
from core.client_address import client_address, parse_trusted_proxies
from tests.helpers.customers import CUSTOMER_BODY

PROXY = "10.0.0.5"


def request(peer: str, forwarded: str | None = None):
    meta = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


@pytest.fixture
def behind_proxy(settings):
    settings.VAULT_TRUSTED_PROXIES = ["10.0.0.0/24", "2001:db8::/64"]


def test_without_trusted_proxies_the_peer_is_the_client_whatever_it_claims(settings):
    settings.VAULT_TRUSTED_PROXIES = []
    assert client_address(request("203.0.113.9", "198.51.100.1")) == "203.0.113.9"


def test_a_trusted_proxy_names_the_client(behind_proxy):
    assert client_address(request(PROXY, "198.51.100.7")) == "198.51.100.7"


def test_entries_a_client_wrote_itself_are_ignored(behind_proxy):
    # The client sent "X-Forwarded-For: 1.2.3.4"; the proxy appended what it saw.
    assert client_address(request(PROXY, "1.2.3.4, 198.51.100.7")) == "198.51.100.7"


def test_a_chain_of_trusted_proxies_is_walked_from_the_right(behind_proxy):
    assert client_address(request(PROXY, "1.2.3.4, 198.51.100.7, 10.0.0.9, 10.0.0.8")) == "198.51.100.7"
    assert client_address(request("2001:db8::1", "2001:db8:1::42")) == "2001:db8:1::42"


def test_an_untrusted_peer_cannot_spoof_and_garbage_stops_the_walk(behind_proxy):
    assert client_address(request("203.0.113.9", "10.0.0.1")) == "203.0.113.9"
    assert client_address(request(PROXY, "198.51.100.7, not-an-address")) == PROXY
    assert client_address(request(PROXY, "")) == PROXY
    assert client_address(request(PROXY)) == PROXY


def test_a_bad_trusted_proxies_setting_refuses_to_start():
    with pytest.raises(ImproperlyConfigured, match="not an address or a CIDR range"):
        parse_trusted_proxies(["10.0.0.0/33"])
    assert len(parse_trusted_proxies(["10.0.0.0/8", " ::1 "])) == 2


def test_audit_rows_record_the_client_behind_the_proxy(behind_proxy, api):
    response = api.client.generic(
        "POST",
        "/customers",
        data=json.dumps(CUSTOMER_BODY),
        content_type="application/json",
        headers=api.headers(),
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR="9.9.9.9, 198.51.100.7",
    )
    assert response.status_code == 200
    event = AuditEvent.objects.get(action="customer.create", object_id=response.json()["id"])
    assert event.origin == "198.51.100.7"
