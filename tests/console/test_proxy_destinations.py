"""The proxy allowlist in the console: added pending, approved by a second administrator, revoked;
every act audited; support never sees it."""

import pytest

from audit.actions import AuditAction
from audit.models import AuditEvent
from console import roles
from proxy.models import ProxyDestination
from tests.helpers.console import ADMIN, make_console_user, verified_client

PAGE = f"{ADMIN}proxy/proxydestination/"


@pytest.fixture
def admins(db):
    return verified_client(make_console_user("alice")), verified_client(make_console_user("bob"))


def add(client, merchant, url="https://api.processor.example/v1", ca_bundle=""):
    return client.post(f"{PAGE}add/", {"merchant": merchant.pk, "url": url, "ca_bundle": ca_bundle})


def decide(client, destination, action):
    response = client.post(PAGE, {"action": action, "_selected_action": [destination.pk]}, follow=True)
    assert response.status_code == 200
    return response.content.decode()


def test_a_destination_needs_a_second_administrator(tenant, admins):
    alice, bob = admins
    assert alice.get(f"{PAGE}add/").status_code == 200
    response = add(alice, tenant.merchant)
    assert response.status_code == 302
    destination = ProxyDestination.objects.for_merchant(tenant.merchant).get()
    assert destination.origin == "https://api.processor.example:443"
    assert destination.state == ProxyDestination.State.PENDING and destination.added_by == "admin:alice"
    assert "cannot approve it: a second person must" in decide(alice, destination, "approve_selected")
    destination.refresh_from_db()
    assert destination.state == ProxyDestination.State.PENDING
    decide(bob, destination, "approve_selected")
    destination.refresh_from_db()
    assert destination.state == ProxyDestination.State.ACTIVE and destination.approved_by == "admin:bob"
    decide(alice, destination, "revoke_selected")
    destination.refresh_from_db()
    assert destination.state == ProxyDestination.State.REVOKED
    trail = list(
        AuditEvent.objects.filter(object_type="proxy_destination")
        .order_by("id")
        .values_list("action", "outcome", "actor_id")
    )
    assert trail == [
        (AuditAction.PROXY_DESTINATION_ADD, "success", "alice"),
        (AuditAction.PROXY_DESTINATION_APPROVE, "denied", "alice"),
        (AuditAction.PROXY_DESTINATION_APPROVE, "success", "bob"),
        (AuditAction.PROXY_DESTINATION_REVOKE, "success", "alice"),
    ]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://api.processor.example", "http or https"),
        ("https://user:pw@api.processor.example", "credentials"),
        ("not a url", "spaces"),
    ],
)
def test_a_bad_url_is_a_form_error(tenant, admins, url, message):
    alice, _ = admins
    response = add(alice, tenant.merchant, url)
    assert response.status_code == 200 and message in response.content.decode()
    assert not ProxyDestination.objects.for_merchant(tenant.merchant).exists()


def test_http_and_duplicates_are_form_errors(tenant, admins, settings):
    alice, _ = admins
    assert add(alice, tenant.merchant).status_code == 302
    assert (
        "already on this merchant"
        in add(alice, tenant.merchant, "https://api.processor.example:443/x").content.decode()
    )
    settings.DEVELOPMENT = False
    assert "only https" in add(alice, tenant.merchant, "http://api.processor.example").content.decode()
    assert "PEM" in add(alice, tenant.merchant, "https://other.example", ca_bundle="not a cert").content.decode()


def test_support_cannot_see_or_add_destinations(tenant, db):
    support = verified_client(make_console_user("sam", roles.SUPPORT))
    assert support.get(PAGE).status_code == 403
    assert add(support, tenant.merchant).status_code == 403
    assert not ProxyDestination.objects.for_merchant(tenant.merchant).exists()


def test_nothing_is_edited_in_place(tenant, admins):
    alice, _ = admins
    add(alice, tenant.merchant)
    destination = ProxyDestination.objects.for_merchant(tenant.merchant).get()
    page = alice.get(f"{PAGE}{destination.pk}/change/")
    assert page.status_code == 200 and b'name="host"' not in page.content
    assert alice.post(f"{PAGE}{destination.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ProxyDestination.objects.for_merchant(tenant.merchant).count() == 1
