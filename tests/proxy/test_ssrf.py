"""The proxy's SSRF defence, as a table: every refused address class, a DNS answer that changes
between lookups (rebinding), a host answering one public and one private address, a redirect, a
host not on the allowlist, and `http` in production. The README's SSRF table points here."""

import ipaddress

import pytest

from audit.actions import AuditAction
from audit.models import AuditEvent
from proxy.addresses import refusal_reason
from proxy.services import DestinationRefused, destination_add
from tests.helpers.api import assert_error
from tests.helpers.dns_server import ScriptedDnsServer
from tests.helpers.payment_methods import create_payment_method
from tests.helpers.tenants import TEST_ACTOR
from tests.proxy.helpers import proxy_body, received_json

# (address, what the refusal calls it)
REFUSED = [
    ("127.0.0.2", "a loopback address"),
    ("::1", "a loopback address"),
    ("10.1.2.3", "a private address"),
    ("172.16.5.5", "a private address"),
    ("192.168.0.10", "a private address"),
    ("fd12:3456::1", "a private address"),
    ("169.254.10.10", "a link-local address"),
    ("fe80::1", "a link-local address"),
    ("169.254.169.254", "a cloud metadata address"),
    ("fd00:ec2::254", "a cloud metadata address"),
    ("100.100.100.200", "a cloud metadata address"),
    ("224.0.0.1", "a multicast address"),
    ("ff02::1", "a multicast address"),
    ("0.0.0.0", "an unspecified address"),  # noqa: S104 - a refused address, not a bind
    ("::", "an unspecified address"),
    ("::ffff:127.0.0.2", "a loopback address"),  # IPv4-mapped: judged as the IPv4 address
    ("::ffff:169.254.169.254", "a cloud metadata address"),
    ("64:ff9b::a00:1", "a private address"),  # NAT64 of 10.0.0.1
    ("64:ff9b::a9fe:a9fe", "a cloud metadata address"),  # NAT64 of 169.254.169.254
    ("64:ff9b:1::a00:1", "an unspecified address"),  # local-use NAT64: refused outright
    ("2002:a00:1::1", "a private address"),  # 6to4 of 10.0.0.1
    ("100.64.0.1", "a reserved address"),  # shared address space (carrier-grade NAT)
    ("192.0.2.1", "a private address"),  # documentation
    ("240.0.0.1", "a private address"),  # reserved for future use
]


@pytest.mark.parametrize(("address", "reason"), REFUSED, ids=[row[0] for row in REFUSED])
def test_every_non_public_address_class_is_refused(address, reason, settings):
    settings.VAULT_PROXY_ALLOW_ADDRESSES = []
    assert refusal_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_may_be_reached(address, settings):
    settings.VAULT_PROXY_ALLOW_ADDRESSES = []
    assert refusal_reason(ipaddress.ip_address(address)) is None


def test_an_allowed_range_opens_only_itself(settings):
    settings.VAULT_PROXY_ALLOW_ADDRESSES = ["127.0.0.1/32"]
    assert refusal_reason(ipaddress.ip_address("127.0.0.1")) is None
    assert refusal_reason(ipaddress.ip_address("127.0.0.2")) == "a loopback address"


LITERAL_HOSTS = ["127.0.0.2", "[::1]", "10.1.2.3", "169.254.169.254", "[fe80::1]", "224.0.0.1", "[::ffff:127.0.0.2]"]


@pytest.mark.parametrize("address", [*LITERAL_HOSTS, "0.0.0.0"])  # noqa: S104 - a refused address, not a bind
def test_an_allowlisted_destination_at_a_refused_address_is_not_contacted(shop, processor, address):
    tenant, client, customer, _ = shop
    url = f"https://{address}:{processor.port}"
    destination_add(actor=TEST_ACTOR, merchant=tenant.merchant, url=url, single_control=True)
    pm = create_payment_method(client, customer["id"])
    body = {**proxy_body(processor, pm["id"], {"n": "{{$card_number}}"}), "destination_url": f"{url}/v1"}
    assert_error(client.post("/proxy", body), 403, "IR_41")
    assert processor.received() == []
    event = AuditEvent.objects.filter(action=AuditAction.PAYMENT_METHOD_PROXY).get()
    assert event.outcome == AuditEvent.Outcome.DENIED and "resolves to a" in event.details["reason"]


def test_the_loopback_processor_itself_is_refused_unless_allowed(shop, processor, settings):
    _, client, customer, _ = shop
    settings.VAULT_PROXY_ALLOW_ADDRESSES = []
    pm = create_payment_method(client, customer["id"])
    assert_error(client.post("/proxy", proxy_body(processor, pm["id"], {"n": "{{$card_number}}"})), 403, "IR_41")
    assert processor.received() == []


@pytest.fixture
def dns(settings):
    server = ScriptedDnsServer()
    settings.VAULT_PROXY_NAMESERVERS = [server.nameserver]
    yield server
    server.stop()


def _named(shop, processor, name):
    tenant, client, customer, _ = shop
    url = f"https://{name}:{processor.port}"
    destination_add(
        actor=TEST_ACTOR, merchant=tenant.merchant, url=url, ca_bundle=processor.ca_pem, single_control=True
    )
    pm = create_payment_method(client, customer["id"])
    return client, {**proxy_body(processor, pm["id"], {"n": "{{$card_number}}"}), "destination_url": f"{url}/v1"}


def test_a_name_is_resolved_once_and_the_checked_address_is_the_one_connected_to(shop, processor, dns):
    # A rebinding server: the first answer passes the check, every later one points at the metadata service.
    dns.script("rebind.test", ["127.0.0.1"], ["169.254.169.254"])
    client, body = _named(shop, processor, "rebind.test")
    response = client.post("/proxy", body)
    assert response.status_code == 200, response.content
    assert received_json(processor)["n"].isdigit()
    assert dns.a_queries("rebind.test") == 1  # no second lookup between the check and the connection
    # The next call resolves again, meets the rebound answer, and goes nowhere.
    processor.forget()
    assert_error(client.post("/proxy", body), 403, "IR_41")
    assert processor.received() == []


def test_a_name_answering_a_public_and_a_private_address_is_refused(shop, processor, dns, settings):
    dns.script("mixed.test", ["127.0.0.1", "10.0.0.5"])
    client, body = _named(shop, processor, "mixed.test")
    assert_error(client.post("/proxy", body), 403, "IR_41")
    assert processor.received() == []


def test_a_name_that_does_not_resolve_is_a_502(shop, processor, dns):
    client, body = _named(shop, processor, "processor.test")  # the script has no answer for it
    assert_error(client.post("/proxy", body), 502, "HE_03")


def test_a_redirect_to_a_private_address_is_not_followed(shop, processor):
    _, client, customer, _ = shop
    pm = create_payment_method(client, customer["id"])
    processor.answer(status=307, headers={"Location": "https://10.0.0.1/steal"}, body="")
    answer = client.post("/proxy", proxy_body(processor, pm["id"], {"n": "{{$card_number}}"})).json()
    assert answer["status_code"] == 307 and len(processor.received()) == 1


def test_a_host_not_on_the_allowlist_is_refused(shop, processor):
    _, client, customer, _ = shop
    pm = create_payment_method(client, customer["id"])
    body = proxy_body(processor, pm["id"], {"n": "{{$card_number}}"})
    body["destination_url"] = "https://api.example.com/x"
    assert_error(client.post("/proxy", body), 403, "IR_40")


def test_http_is_refused_outside_development(shop, processor, settings):
    tenant, client, customer, _ = shop
    url = f"http://127.0.0.1:{processor.port}"
    destination_add(actor=TEST_ACTOR, merchant=tenant.merchant, url=url, single_control=True)  # in development
    settings.DEVELOPMENT = False
    pm = create_payment_method(client, customer["id"])
    body = {**proxy_body(processor, pm["id"], {"n": "{{$card_number}}"}), "destination_url": f"{url}/v1"}
    error = assert_error(client.post("/proxy", body), 403, "IR_40")
    assert "https" in error["error"]["message"]
    with pytest.raises(DestinationRefused, match="only https"):
        destination_add(actor=TEST_ACTOR, merchant=tenant.merchant, url="http://api.example.com", single_control=True)
    assert processor.received() == []
