"""The restricted admin console: roles, masking, key issuance, the read-only trail, sign-in hardening."""

import io
import json
import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Group, User
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command
from django.db import DatabaseError
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit import services as audit_services
from audit.models import AuditEvent
from console import roles
from merchants.models import ApiKey, Merchant, Profile
from merchants.scopes import DEFAULT_SCOPES, PAYMENT_METHODS_REVEAL
from tests.helpers.api import VaultClient
from tests.helpers.console import (
    ADMIN,
    PASSWORD,
    current_code,
    leaked_card_number,
    make_console_user,
    post_issue_form,
    verified_client,
)
from tests.helpers.customers import create_customer
from tests.helpers.payment_methods import card_number, create_payment_method
from tokens import cards
from tokens.models import PaymentMethod


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def administrator(db):
    return make_console_user("ada-admin", roles.ADMINISTRATORS)


@pytest.fixture
def support(db):
    return make_console_user("sam-support", roles.SUPPORT)


@pytest.fixture
def superuser(db):
    return make_console_user("root", None, superuser=True)


@pytest.fixture
def stored_cards(api, tenant):
    """Two customers with cards of known numbers, vaulted through the API."""
    numbers = [card_number(index) for index in range(1, 6)] + [card_number(7, prefix="51")]
    customer_a = create_customer(api, email="grace.hopper@example.com", phone="5550100042", name="Grace Hopper")
    customer_b = create_customer(api, email="alan@example.org", name="Alan Turing")
    methods = [create_payment_method(api, customer_a["id"], number) for number in numbers[:3]]
    methods += [create_payment_method(api, customer_b["id"], number) for number in numbers[3:]]
    return {"numbers": numbers, "customers": [customer_a, customer_b], "methods": methods}


def page(client: Client, url: str, status: int = 200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.content[:300])
    return response


def test_the_roles_are_provisioned_with_their_permissions(db):
    def codenames(name):
        return {f"{p.content_type.app_label}.{p.codename}" for p in Group.objects.get(name=name).permissions.all()}

    administrators, support = codenames(roles.ADMINISTRATORS), codenames(roles.SUPPORT)
    assert {
        "merchants.add_apikey",
        "merchants.change_apikey",
        "auth.add_user",
        "audit.view_auditevent",
    } <= administrators
    assert not any(name.startswith(("customers.", "tokens.")) for name in administrators)
    assert support == {
        "merchants.view_merchant",
        "merchants.view_profile",
        "customers.view_customer",
        "tokens.view_paymentmethod",
        "audit.view_auditevent",
    }
    assert not any(p.endswith(("_auditevent",)) and not p.endswith("view_auditevent") for p in administrators | support)


def test_the_console_pages_are_html_and_named(administrator):
    client = verified_client(administrator)
    response = page(client, ADMIN)
    assert response["Content-Type"].startswith("text/html")
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    assert "Card Vault console" in html
    assert "Merchants and API keys" in html and "Audit trail" in html
    assert "Card data (masked)" not in html  # administrators never see card data


# --- Support: masked pages, no changes ------------------------------------------------------------


def test_support_opens_every_masked_page(support, stored_cards):
    client = verified_client(support)
    customer, method = stored_cards["customers"][0], stored_cards["methods"][0]
    event = AuditEvent.objects.first()
    merchant = Merchant.objects.first()
    for url in [
        ADMIN,
        f"{ADMIN}customers/customer/",
        f"{ADMIN}customers/customer/{quote(customer['id'])}/change/",
        f"{ADMIN}tokens/paymentmethod/",
        f"{ADMIN}tokens/paymentmethod/{quote(method['id'])}/change/",
        f"{ADMIN}tokens/paymentmethod/?customer__id__exact={customer['id']}",
        f"{ADMIN}audit/auditevent/",
        f"{ADMIN}audit/auditevent/{quote(event.pk)}/change/",
        f"{ADMIN}merchants/merchant/",
        f"{ADMIN}merchants/merchant/{quote(merchant.pk)}/change/",
        f"{ADMIN}merchants/profile/",
    ]:
        page(client, url)
    html = page(client, ADMIN).content.decode()
    assert "Card data (masked)" in html and "Issue an API key" not in html


def test_support_is_refused_every_change(support, stored_cards, tenant):
    client = verified_client(support)
    customer_id = stored_cards["customers"][0]["id"]
    method_id = stored_cards["methods"][0]["id"]
    event_id = AuditEvent.objects.first().pk
    targets = {
        "customers/customer": customer_id,
        "tokens/paymentmethod": method_id,
        "audit/auditevent": event_id,
        "merchants/merchant": tenant.merchant.pk,
        "merchants/profile": tenant.profile.pk,
        "merchants/apikey": tenant.api_key.pk,
    }
    before = (PaymentMethod.objects.count(), AuditEvent.objects.count(), ApiKey.objects.count())
    for model, pk in targets.items():
        assert client.get(f"{ADMIN}{model}/add/").status_code == 403, model
        assert client.post(f"{ADMIN}{model}/add/", {"name": "x"}).status_code == 403, model
        assert client.post(f"{ADMIN}{model}/{quote(pk)}/change/", {"name": "x"}).status_code == 403, model
        assert client.get(f"{ADMIN}{model}/{quote(pk)}/delete/").status_code == 403, model
        assert client.post(f"{ADMIN}{model}/{quote(pk)}/delete/", {"post": "yes"}).status_code == 403, model
    # Nor bulk: no action is offered, and a forged one does nothing.
    response = client.post(
        f"{ADMIN}tokens/paymentmethod/", {"action": "delete_selected", "_selected_action": [method_id], "index": 0}
    )
    assert response.status_code in (200, 302, 403)
    assert client.get(f"{ADMIN}merchants/apikey/").status_code == 403
    assert client.get(f"{ADMIN}auth/user/").status_code == 403
    assert client.get(f"{ADMIN}auth/user/add/").status_code == 403
    assert client.post(f"{ADMIN}merchants/apikey/add/", {"merchant": tenant.merchant.pk}).status_code == 403
    assert (PaymentMethod.objects.count(), ApiKey.objects.count()) == (before[0], before[2])
    assert PaymentMethod.objects.get(pk=method_id).status == "active"
    refused = client.get(f"{ADMIN}tokens/paymentmethod/add/")
    assert refused["Content-Type"].startswith("text/html") and b"Your role does not allow this" in refused.content


def test_administrators_never_see_card_data(administrator, stored_cards):
    client = verified_client(administrator)
    method_id = stored_cards["methods"][0]["id"]
    assert client.get(f"{ADMIN}tokens/paymentmethod/").status_code == 403
    assert client.get(f"{ADMIN}tokens/paymentmethod/{quote(method_id)}/change/").status_code == 403
    assert client.get(f"{ADMIN}customers/customer/").status_code == 403
    assert not AuditEvent.objects.filter(action="admin.payment_method.view").exists()


def test_no_page_offers_bulk_delete(superuser, stored_cards):
    client = verified_client(superuser)
    for model in ["tokens/paymentmethod", "customers/customer", "audit/auditevent", "merchants/merchant"]:
        html = page(client, f"{ADMIN}{model}/").content.decode()
        assert "delete_selected" not in html, model
    html = page(client, f"{ADMIN}merchants/apikey/").content.decode()
    assert "revoke_selected" in html and "delete_selected" not in html


# --- Masking and leak scan ----------------------------------------------------------------------


def test_no_console_page_shows_a_card_number(support, superuser, stored_cards, tenant):
    numbers = stored_cards["numbers"]
    secrets = set()
    for method in PaymentMethod.objects.all():
        secrets |= {method.sealed_card, method.card_fingerprint}
    secrets.discard("")
    secrets.discard(None)
    urls = [
        ADMIN,
        f"{ADMIN}customers/customer/",
        f"{ADMIN}customers/customer/?q=grace.hopper@example.com",
        f"{ADMIN}tokens/paymentmethod/",
        f"{ADMIN}tokens/paymentmethod/?q={numbers[0][-4:]}",
        f"{ADMIN}tokens/paymentmethod/?q=grace.hopper@example.com",
        f"{ADMIN}tokens/paymentmethod/?status__exact=active",
        f"{ADMIN}audit/auditevent/",
        f"{ADMIN}audit/auditevent/?action=payment_method.create",
        f"{ADMIN}merchants/merchant/{quote(tenant.merchant.pk)}/change/",
    ]
    urls += [f"{ADMIN}tokens/paymentmethod/{quote(m['id'])}/change/" for m in stored_cards["methods"]]
    urls += [f"{ADMIN}tokens/paymentmethod/{quote(m['id'])}/history/" for m in stored_cards["methods"][:2]]
    urls += [f"{ADMIN}customers/customer/{quote(c['id'])}/change/" for c in stored_cards["customers"]]
    urls += [f"{ADMIN}audit/auditevent/{quote(event.pk)}/change/" for event in AuditEvent.objects.all()[:20]]
    for console_user in (support, superuser):
        client = verified_client(console_user)
        for url in urls:
            html = page(client, url).content.decode()
            assert leaked_card_number(html, numbers) is None, (console_user.user.username, url)
            assert not any(secret in html for secret in secrets), url
            for column in ("sealed_card", "kek_version", "card_fingerprint"):
                assert column not in html, (url, column)
    # The admin's own history holds none either.
    history = " ".join(f"{e.object_repr} {e.change_message}" for e in LogEntry.objects.all())
    assert leaked_card_number(history, numbers) is None


def test_payment_method_pages_show_the_masked_card(support, stored_cards):
    client = verified_client(support)
    method = stored_cards["methods"][0]
    number = stored_cards["numbers"][0]
    listing = page(client, f"{ADMIN}tokens/paymentmethod/?q={number[-4:]}").content.decode()
    assert method["id"] in listing and f"{cards.isin(number)} •••• {number[-4:]}" in listing
    detail = page(client, f"{ADMIN}tokens/paymentmethod/{quote(method['id'])}/change/").content.decode()
    for shown in (cards.isin(number), f"•••• {number[-4:]}", "12/2035", "Visa", "persistent", "active"):
        assert shown.lower() in detail.lower(), shown
    assert 'name="card_holder_name"' not in detail  # read-only: no inputs


def test_customers_are_shown_with_email_and_phone_masked(support, stored_cards):
    client = verified_client(support)
    customer = stored_cards["customers"][0]
    for url in (f"{ADMIN}customers/customer/", f"{ADMIN}customers/customer/{quote(customer['id'])}/change/"):
        html = page(client, url).content.decode()
        assert "grace.hopper@example.com" not in html and "5550100042" not in html
        assert "g•••@example.com" in html
    detail = page(client, f"{ADMIN}customers/customer/{quote(customer['id'])}/change/").content.decode()
    assert "•••••42" in detail
    # Search finds by the exact address, never by a fragment of it.
    assert customer["id"] in page(client, f"{ADMIN}customers/customer/?q=grace.hopper@example.com").content.decode()
    assert customer["id"] not in page(client, f"{ADMIN}customers/customer/?q=grace").content.decode()


@pytest.mark.parametrize(
    "query",
    [
        "tokens/paymentmethod/?card_fingerprint__startswith=1",
        "tokens/paymentmethod/?sealed_card__contains=v1",
        "tokens/paymentmethod/?kek_version=1",
        "tokens/paymentmethod/?customer__email__startswith=g",
        "tokens/paymentmethod/?card_holder_name__startswith=G",
        "customers/customer/?email__startswith=g",
        "customers/customer/?phone__endswith=2",
        "merchants/apikey/?secret_hash__startswith=h",
        "auth/user/?password__startswith=m",
    ],
)
def test_secret_columns_cannot_be_filtered_on(superuser, stored_cards, query):
    response = verified_client(superuser).get(f"{ADMIN}{query}")
    assert response.status_code in (400, 302)
    assert stored_cards["methods"][0]["id"].encode() not in response.content
    if response.status_code == 400:  # the console's own page, not the API's JSON
        assert response["Content-Type"].startswith("text/html") and b"cannot be filtered that way" in response.content


def test_opening_a_payment_method_is_audited(support, stored_cards):
    client = verified_client(support)
    method = stored_cards["methods"][0]
    page(client, f"{ADMIN}tokens/paymentmethod/")
    assert not AuditEvent.objects.filter(action="admin.payment_method.view").exists()
    page(client, f"{ADMIN}tokens/paymentmethod/{quote(method['id'])}/change/")
    event = AuditEvent.objects.get(action="admin.payment_method.view")
    assert (event.actor_kind, event.actor_id, event.object_id) == ("admin", "sam-support", method["id"])
    assert event.merchant_id == method["merchant_id"] if "merchant_id" in method else event.merchant_id
    assert event.outcome == "success" and event.object_type == "payment_method"
    page(client, f"{ADMIN}customers/customer/{quote(stored_cards['customers'][0]['id'])}/change/")
    assert AuditEvent.objects.filter(action="admin.customer.view", actor_id="sam-support").count() == 1


def test_a_payment_method_page_is_not_shown_when_the_audit_fails(support, stored_cards, monkeypatch):
    client = verified_client(support)
    method_id = stored_cards["methods"][0]["id"]

    def broken(*args, **kwargs):
        raise DatabaseError("audit table unavailable")

    monkeypatch.setattr(audit_services._EVENTS, "statement", broken)
    response = client.get(f"{ADMIN}tokens/paymentmethod/{quote(method_id)}/change/")
    assert response.status_code == 503
    html = response.content.decode()
    assert method_id not in html and stored_cards["numbers"][0][:6] not in html


# --- The audit trail is read-only ---------------------------------------------------------------


def test_the_audit_trail_is_read_only_even_for_superusers(superuser, stored_cards):
    client = verified_client(superuser)
    event = AuditEvent.objects.first()
    listing = page(client, f"{ADMIN}audit/auditevent/").content.decode()
    for filter_title in ("By actor kind", "By action", "By outcome", "By merchant id", "By occurred at"):
        assert filter_title.lower() in listing.lower(), filter_title
    page(client, f"{ADMIN}audit/auditevent/?outcome__exact=success&actor_kind__exact=api_key")
    detail = page(client, f"{ADMIN}audit/auditevent/{quote(event.pk)}/change/").content.decode()
    assert event.action in detail and 'type="submit"' not in detail.split('id="content-main"')[1].split("</form>")[0]
    assert client.get(f"{ADMIN}audit/auditevent/add/").status_code == 403
    assert client.post(f"{ADMIN}audit/auditevent/{quote(event.pk)}/change/", {"action": "x"}).status_code == 403
    assert client.post(f"{ADMIN}audit/auditevent/{quote(event.pk)}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).action == event.action


# --- API keys: issue once, revoke ---------------------------------------------------------------


def issue_through_console(client: Client, merchant: Merchant, scopes=DEFAULT_SCOPES, **extra):
    response = post_issue_form(client, {"merchant": merchant.pk, "name": "checkout", "scopes": list(scopes), **extra})
    assert response.status_code == 200, response.content[:500]
    match = re.search(r'id="issued-key"[^>]*value="(vlt_[A-Za-z0-9_-]+)"', response.content.decode())
    assert match, response.content[:2000]
    return response, match.group(1)


def test_the_issue_form_offers_every_scope_with_reveal_unchecked(administrator, tenant):
    html = page(verified_client(administrator), f"{ADMIN}merchants/apikey/add/?merchant={tenant.merchant.pk}")
    html = html.content.decode()
    for scope in DEFAULT_SCOPES:
        assert re.search(rf'value="{scope}"[^>]*checked', html), scope
    assert f'value="{PAYMENT_METHODS_REVEAL}"' in html
    assert not re.search(rf'value="{PAYMENT_METHODS_REVEAL}"[^>]*checked', html)


def test_an_administrator_issues_a_key_that_is_shown_once(administrator, tenant):
    client = verified_client(administrator)
    response, plaintext = issue_through_console(client, tenant.merchant)
    assert response["Cache-Control"] == "no-store"
    assert response.content.decode().count(plaintext) == 1
    key_id = plaintext.split("_")[1]
    api_key = ApiKey.objects.get(key_id=key_id)
    assert api_key.scopes == list(DEFAULT_SCOPES) and api_key.name == "checkout"
    assert tenant.profile.pk in response.content.decode()

    # It works against the API at once.
    assert VaultClient(plaintext, tenant.profile.pk).get("/customers").status_code == 200

    # ... and is never shown again, nor kept anywhere the console can read.
    secret_part = plaintext.split("_", 2)[2]
    for url in (
        f"{ADMIN}merchants/apikey/",
        f"{ADMIN}merchants/apikey/{quote(api_key.pk)}/change/",
        f"{ADMIN}merchants/apikey/{quote(api_key.pk)}/history/",
        f"{ADMIN}merchants/merchant/{quote(tenant.merchant.pk)}/change/",
        f"{ADMIN}audit/auditevent/",
        ADMIN,
    ):
        html = page(client, url).content.decode()
        assert secret_part not in html, url
    assert key_id in page(client, f"{ADMIN}merchants/apikey/").content.decode()
    entries = LogEntry.objects.all()
    assert entries.count() == 1 and entries[0].object_repr.startswith(key_id)
    assert not any(secret_part in f"{e.object_repr}{e.change_message}" for e in entries)
    events = AuditEvent.objects.filter(action="api_key.issue", object_id=key_id)
    assert events.count() == 1 and events[0].actor_kind == "admin" and events[0].actor_id == "ada-admin"
    assert not any(secret_part in json.dumps([e.details, e.object_id, e.request_id]) for e in AuditEvent.objects.all())


def test_reloading_the_issued_page_issues_no_second_key(administrator, tenant):
    client = verified_client(administrator)
    page_html = client.get(f"{ADMIN}merchants/apikey/add/").content.decode()
    token = re.search(r'name="issue_token" value="([^"]+)"', page_html).group(1)
    body = {"merchant": tenant.merchant.pk, "scopes": ["customers:read"], "issue_token": token}
    first = client.post(f"{ADMIN}merchants/apikey/add/", body)
    assert b"issued-key" in first.content and ApiKey.objects.count() == 2
    reload = client.post(f"{ADMIN}merchants/apikey/add/", body)  # what a browser's reload sends
    assert reload.status_code == 409 and b"already issued" in reload.content and b"vlt_" not in reload.content
    assert reload["Cache-Control"] == "no-store"
    assert ApiKey.objects.count() == 2
    forged = client.post(f"{ADMIN}merchants/apikey/add/", {**body, "issue_token": "made-up"})
    assert b"This form has expired" in forged.content and ApiKey.objects.count() == 2


def test_a_key_can_carry_reveal_and_an_expiry(administrator, tenant):
    client = verified_client(administrator)
    expiry = (timezone.now() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    _, plaintext = issue_through_console(client, tenant.merchant, [PAYMENT_METHODS_REVEAL], expires_at=expiry)
    api_key = ApiKey.objects.get(key_id=plaintext.split("_")[1])
    assert api_key.scopes == [PAYMENT_METHODS_REVEAL] and api_key.expires_at is not None
    past = post_issue_form(
        client, {"merchant": tenant.merchant.pk, "scopes": ["customers:read"], "expires_at": "2001-01-01T00:00"}
    )
    assert past.status_code == 200 and b"must lie in the future" in past.content and b"issued-key" not in past.content
    none = post_issue_form(client, {"merchant": tenant.merchant.pk})
    assert b"issued-key" not in none.content and ApiKey.objects.count() == 2


def test_an_administrator_revokes_a_key_after_confirming(administrator, tenant):
    client = verified_client(administrator)
    _, plaintext = issue_through_console(client, tenant.merchant)
    api_key = ApiKey.objects.get(key_id=plaintext.split("_")[1])
    api = VaultClient(plaintext, tenant.profile.pk)
    assert api.get("/customers").status_code == 200

    changelist = f"{ADMIN}merchants/apikey/"
    ask = client.post(changelist, {"action": "revoke_selected", "_selected_action": [api_key.pk], "index": 0})
    assert ask.status_code == 200 and b"Yes, revoke" in ask.content
    api_key.refresh_from_db()
    assert api_key.revoked_at is None  # nothing happens before confirmation

    done = client.post(changelist, {"action": "revoke_selected", "_selected_action": [api_key.pk], "confirm": "yes"})
    assert done.status_code == 302
    # The page says how soon other instances refuse it: the cache's lifetime here, without Redis.
    notice = client.get(changelist).content.decode()
    assert "Revoked 1 API key(s). They fail authentication at once on this instance and within 5 second(s)" in notice
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    assert api.get("/customers").status_code == 401
    event = AuditEvent.objects.get(action="api_key.revoke", object_id=api_key.key_id)
    assert (event.actor_kind, event.actor_id) == ("admin", "ada-admin")
    assert VaultClient(tenant.key, tenant.profile.pk).get("/customers").status_code == 200  # others unaffected


def test_support_cannot_revoke(support, tenant):
    client = verified_client(support)
    client.post(
        f"{ADMIN}merchants/apikey/",
        {"action": "revoke_selected", "_selected_action": [tenant.api_key.pk], "confirm": "yes"},
    )
    tenant.api_key.refresh_from_db()
    assert tenant.api_key.revoked_at is None


# --- Merchants, profiles and users --------------------------------------------------------------


def test_administrators_create_and_rename_merchants_and_profiles(administrator):
    client = verified_client(administrator)
    response = client.post(f"{ADMIN}merchants/merchant/add/", {"name": "Corner Shop"})
    assert response.status_code == 302, response.content[:500]
    merchant = Merchant.objects.get(name="Corner Shop")
    assert merchant.pk.startswith("mer_")
    # It comes with a default profile, and its page offers to add another.
    assert list(merchant.profiles.values_list("name", flat=True)) == ["default"]
    page = client.get(f"{ADMIN}merchants/merchant/{quote(merchant.pk)}/change/").content.decode()
    assert f"merchants/profile/add/?merchant={merchant.pk}" in page and "Add profile" in page
    response = client.post(
        f"{ADMIN}merchants/profile/add/", {"merchant": merchant.pk, "name": "web", "network_tokenization_enabled": ""}
    )
    assert response.status_code == 302, response.content[:500]
    profile = Profile.objects.get(merchant=merchant, name="web")
    assert profile.pk.startswith("pro_") and not profile.network_tokenization_enabled
    response = client.post(
        f"{ADMIN}merchants/profile/{quote(profile.pk)}/change/",
        {"name": "web shop", "network_tokenization_enabled": "on"},
    )
    assert response.status_code == 302, response.content[:500]
    profile.refresh_from_db()
    assert profile.name == "web shop" and profile.network_tokenization_enabled
    client.post(f"{ADMIN}merchants/merchant/{quote(merchant.pk)}/change/", {"name": "Corner Shop Ltd"})
    merchant.refresh_from_db()
    assert merchant.name == "Corner Shop Ltd"
    actions = list(AuditEvent.objects.filter(actor_kind="admin").values_list("action", flat=True))
    expected = ["merchant.create", "profile.create", "profile.create", "profile.update", "merchant.update"]
    assert sorted(actions) == sorted(expected)
    assert client.get(f"{ADMIN}merchants/merchant/{quote(merchant.pk)}/delete/").status_code == 403


# --- Sign-in: password, then TOTP; enrolment; lock-out; sessions ---------------------------------


def sign_in_password(client: Client, username: str, password: str = PASSWORD):
    return client.post(f"{ADMIN}login/", {"username": username, "password": password, "next": ADMIN})


def test_a_password_alone_does_not_open_the_console(administrator):
    client = Client()
    response = sign_in_password(client, "ada-admin")
    assert response.status_code == 302 and response["Location"].startswith(f"{ADMIN}login/otp/")
    index = client.get(ADMIN)
    assert index.status_code == 302 and index["Location"].startswith(f"{ADMIN}login/")
    assert client.get(f"{ADMIN}merchants/apikey/").status_code == 302
    assert client.get(f"{ADMIN}login/").status_code == 302  # on to the second step
    # The same for a session logged in without the device (as force_login leaves it).
    bare = Client()
    bare.force_login(administrator.user, backend="django.contrib.auth.backends.ModelBackend")
    assert bare.get(ADMIN).status_code == 302


def test_password_and_totp_code_open_the_console(administrator):
    client = Client(enforce_csrf_checks=False)
    sign_in_password(client, "ada-admin")
    step = page(client, f"{ADMIN}login/otp/?next={ADMIN}").content.decode()
    assert 'name="otp_token"' in step and 'id="totp-qr"' not in step
    wrong = client.post(f"{ADMIN}login/otp/", {"otp_token": "000000", "next": ADMIN})
    if current_code(administrator.device) != "000000":
        assert wrong.status_code == 200 and b"not valid" in wrong.content
    TOTPDevice.objects.filter(pk=administrator.device.pk).update(throttling_failure_count=0)
    administrator.device.refresh_from_db()
    right = client.post(f"{ADMIN}login/otp/", {"otp_token": current_code(administrator.device), "next": ADMIN})
    assert right.status_code == 302 and right["Location"] == ADMIN
    assert page(client, ADMIN).status_code == 200


def test_a_user_without_an_authenticator_enrols_with_a_qr_code(db):
    newcomer = make_console_user("nina", roles.SUPPORT, enrolled=False)
    client = Client()
    sign_in_password(client, newcomer.user.username)
    step = page(client, f"{ADMIN}login/otp/").content.decode()
    assert 'id="totp-qr"' in step and "<svg" in step.split('id="totp-qr"')[1][:200] and "Set up" in step
    device = TOTPDevice.objects.get(user=newcomer.user)
    assert not device.confirmed
    assert client.get(ADMIN).status_code == 302  # not before the first code is confirmed
    response = client.post(f"{ADMIN}login/otp/", {"otp_token": current_code(device), "next": ADMIN})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert page(client, ADMIN).status_code == 200
    assert AuditEvent.objects.filter(action="admin.totp.enrol", actor_id="nina").count() == 1
    # The next sign-in asks for a code, without showing the secret again.
    again = Client()
    sign_in_password(again, "nina")
    assert 'id="totp-qr"' not in page(again, f"{ADMIN}login/otp/").content.decode()


def test_ten_failed_passwords_lock_the_account_for_thirty_minutes(administrator, support):
    assert settings.AXES_FAILURE_LIMIT == 10 and settings.AXES_COOLOFF_TIME == 0.5
    client = Client()
    for _ in range(9):
        response = sign_in_password(client, "ada-admin", "wrong-password")
        assert response.status_code == 200 and b"Please enter the correct username" in response.content
    tenth = sign_in_password(client, "ada-admin", "wrong-password")
    assert tenth.status_code == 429
    locked = sign_in_password(Client(), "ada-admin")  # the right password, from anywhere
    assert locked.status_code == 429 and b"Account locked" in locked.content
    # Other users are not affected.
    assert sign_in_password(Client(), "sam-support").status_code == 302
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=29))
    assert sign_in_password(Client(), "ada-admin").status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=31))
    assert sign_in_password(Client(), "ada-admin").status_code == 302


def test_wrong_codes_count_towards_the_lock_out(administrator):
    client = Client()
    sign_in_password(client, "ada-admin")
    good = current_code(administrator.device)
    bad = "123456" if good != "123456" else "654321"
    for _ in range(9):
        TOTPDevice.objects.filter(pk=administrator.device.pk).update(throttling_failure_count=0)
        response = client.post(f"{ADMIN}login/otp/", {"otp_token": bad})
        assert response.status_code == 200
    TOTPDevice.objects.filter(pk=administrator.device.pk).update(throttling_failure_count=0)
    assert client.post(f"{ADMIN}login/otp/", {"otp_token": bad}).status_code == 429
    assert client.get(ADMIN).status_code == 302
    assert sign_in_password(Client(), "ada-admin").status_code == 429


def test_sessions_end_after_fifteen_idle_minutes(administrator):
    assert settings.SESSION_COOKIE_AGE == 900 and settings.SESSION_SAVE_EVERY_REQUEST
    assert settings.SESSION_COOKIE_PATH == ADMIN and settings.SESSION_COOKIE_HTTPONLY
    client = verified_client(administrator)
    page(client, ADMIN)
    session = Session.objects.get(session_key=client.session.session_key)
    assert timedelta(minutes=14) < session.expire_date - timezone.now() <= timedelta(minutes=15)
    # Each request restarts the clock; 15 idle minutes end the session.
    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(ADMIN)
    assert response.status_code == 302 and response["Location"].startswith(f"{ADMIN}login/")


def test_the_login_page_refuses_an_open_redirect(administrator):
    client = Client()
    response = client.post(
        f"{ADMIN}login/", {"username": "ada-admin", "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert "evil.example" not in response["Location"]


# --- The API is unaffected ----------------------------------------------------------------------


def test_the_api_still_answers_json_with_csrf_enforced(tenant):
    client = Client(enforce_csrf_checks=True)
    headers = {"Authorization": f"api-key={tenant.key}", "X-Profile-Id": tenant.profile.pk}
    created = client.post(
        "/customers", json.dumps({"name": "Ada", "email": "ada@example.com"}), "application/json", headers=headers
    )
    assert created.status_code == 200, created.content
    assert "sessionid" not in created.cookies and "csrftoken" not in created.cookies
    missing = client.get("/no-such-route")
    assert missing.status_code == 404 and missing["Content-Type"] == "application/json"
    forged = client.post("/openapi.json", "{}", "application/json")
    assert forged["Content-Type"] == "application/json" and forged.status_code in (403, 405)
    assert client.get(f"{ADMIN}no-such-page/").status_code in (302, 404)


def test_the_console_refuses_a_form_without_its_csrf_token(administrator, tenant):
    client = Client(enforce_csrf_checks=True)
    client.force_login(administrator.user, backend="django.contrib.auth.backends.ModelBackend")
    session = client.session
    from django_otp import DEVICE_ID_SESSION_KEY

    session[DEVICE_ID_SESSION_KEY] = administrator.device.persistent_id
    session.save()
    response = client.post(
        f"{ADMIN}merchants/apikey/add/", {"merchant": tenant.merchant.pk, "scopes": ["customers:read"]}
    )
    assert response.status_code == 403 and response["Content-Type"].startswith("text/html")
    assert ApiKey.objects.count() == 1


# --- The bootstrap command ----------------------------------------------------------------------


def test_create_vault_admin_makes_a_staff_user_and_prints_an_enrolment_url(db, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("Another-Long-Passw0rd\n"))
    out = io.StringIO()
    call_command("create_vault_admin", "olga", "--email", "olga@example.com", "--password-stdin", stdout=out)
    user = User.objects.get(username="olga")
    assert user.is_staff and not user.is_superuser and user.check_password("Another-Long-Passw0rd")
    assert [g.name for g in user.groups.all()] == [roles.ADMINISTRATORS]
    device = TOTPDevice.objects.get(user=user)
    assert not device.confirmed
    assert device.config_url in out.getvalue() and "otpauth://totp/" in out.getvalue()
    assert AuditEvent.objects.filter(action="admin_user.create", actor_kind="operator").count() == 1

    monkeypatch.setattr("sys.stdin", io.StringIO("Another-Long-Passw0rd\n"))
    call_command("create_vault_admin", "pia", "--support", "--password-stdin", stdout=io.StringIO())
    assert [g.name for g in User.objects.get(username="pia").groups.all()] == [roles.SUPPORT]

    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    with pytest.raises(CommandError):
        call_command("create_vault_admin", "quinn", "--password-stdin", stdout=io.StringIO())
    monkeypatch.setattr("sys.stdin", io.StringIO("Another-Long-Passw0rd\n"))
    with pytest.raises(CommandError, match="exists"):
        call_command("create_vault_admin", "olga", "--password-stdin", stdout=io.StringIO())
