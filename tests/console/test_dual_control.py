"""Dual control for card data: a key that can read card numbers works only once a second person approves it."""

import io
import json
import re

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEvent
from console import roles
from merchants.models import ApiKey, ApiKeyState, Merchant
from merchants.scopes import PAYMENT_METHODS_READ, PAYMENT_METHODS_REVEAL
from merchants.services import ApprovalRefused, api_key_approve, api_key_issue, api_key_revoke
from tests.helpers.api import VaultClient
from tests.helpers.console import ADMIN, ConsoleUser, make_console_user, post_issue_form, verified_client
from tests.helpers.customers import create_customer
from tests.helpers.payment_methods import card_number, create_payment_method
from tests.helpers.tenants import APPROVER, TEST_ACTOR

REVEAL_SCOPES = [PAYMENT_METHODS_READ, PAYMENT_METHODS_REVEAL]


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def stored_card(api):
    customer = create_customer(api)
    return create_payment_method(api, customer["id"], card_number(3))["id"]


def reveal(plaintext: str, tenant, payment_method_id: str):
    return VaultClient(plaintext, tenant.profile.pk).get(f"/payment_methods/{payment_method_id}?fetch_raw_detail=true")


def issue_in_console(client: Client, merchant: Merchant, scopes) -> tuple[str, str]:
    response = post_issue_form(client, {"merchant": merchant.pk, "name": "ops", "scopes": scopes})
    assert response.status_code == 200, response.content[:500]
    plaintext = re.search(r'id="issued-key"[^>]*value="(vlt_[A-Za-z0-9_-]+)"', response.content.decode()).group(1)
    return plaintext, response.content.decode()


def approve_in_console(client: Client, api_key: ApiKey) -> str:
    response = client.post(
        f"{ADMIN}merchants/apikey/", {"action": "approve_selected", "_selected_action": [api_key.pk]}, follow=True
    )
    assert response.status_code == 200
    return response.content.decode()


def test_a_reveal_key_answers_401_until_a_second_person_approves_it(tenant, stored_card):
    issued = api_key_issue(actor=TEST_ACTOR, merchant=tenant.merchant, scopes=REVEAL_SCOPES)
    assert issued.api_key.state == ApiKeyState.PENDING
    pending = reveal(issued.plaintext, tenant, stored_card)
    unknown = VaultClient("vlt_" + "x" * 8 + "_" + "y" * 43, tenant.profile.pk).get(f"/payment_methods/{stored_card}")
    # Exactly like an unknown key: nothing tells a caller that the key exists.
    assert pending.status_code == unknown.status_code == 401
    assert pending.json() == unknown.json()

    with pytest.raises(ApprovalRefused, match="cannot approve"):
        api_key_approve(actor=TEST_ACTOR, api_key=issued.api_key)
    assert reveal(issued.plaintext, tenant, stored_card).status_code == 401
    denied = AuditEvent.objects.get(action="api_key.approve", outcome="denied")
    assert denied.object_id == issued.api_key.key_id and "cannot approve" in denied.details["reason"]

    api_key_approve(actor=APPROVER, api_key=issued.api_key)
    answer = reveal(issued.plaintext, tenant, stored_card)
    assert answer.status_code == 200 and answer.json()["raw_payment_method_data"]["card"]["card_number"] == card_number(
        3
    )
    approved = AuditEvent.objects.get(action="api_key.approve", outcome="success")
    assert (approved.actor_id, approved.details["issued_by"]) == ("pytest-approver", "operator:pytest")
    with pytest.raises(ApprovalRefused, match="not waiting for approval"):
        api_key_approve(actor=APPROVER, api_key=issued.api_key)


def test_keys_without_a_card_data_scope_work_at_once(tenant):
    issued = api_key_issue(actor=TEST_ACTOR, merchant=tenant.merchant, scopes=["customers:read"])
    assert issued.api_key.state == ApiKeyState.LIVE
    assert VaultClient(issued.plaintext, tenant.profile.pk).get("/customers").status_code == 200
    event = AuditEvent.objects.get(action="api_key.issue", object_id=issued.api_key.key_id)
    assert "pending_approval" not in event.details and "single_control" not in event.details


def test_a_revoked_pending_key_cannot_be_approved(tenant):
    issued = api_key_issue(actor=TEST_ACTOR, merchant=tenant.merchant, scopes=REVEAL_SCOPES)
    api_key_revoke(actor=TEST_ACTOR, api_key=issued.api_key)
    with pytest.raises(ApprovalRefused, match="revoked"):
        api_key_approve(actor=APPROVER, api_key=issued.api_key)
    issued.api_key.refresh_from_db()
    assert issued.api_key.approved_at is None


def test_in_the_console_the_issuer_is_refused_and_another_administrator_approves(db, tenant, stored_card):
    ada = make_console_user("ada-admin", roles.ADMINISTRATORS)
    bob = make_console_user("bob-admin", roles.ADMINISTRATORS)
    support = make_console_user("sam-support", roles.SUPPORT)
    ada_client = verified_client(ada)
    plaintext, issued_page = issue_in_console(ada_client, tenant.merchant, REVEAL_SCOPES)
    assert "pending approval" in issued_page
    api_key = ApiKey.objects.get(key_id=plaintext.split("_")[1])
    assert api_key.issued_by == "admin:ada-admin" and reveal(plaintext, tenant, stored_card).status_code == 401
    assert "Pending approval" in verified_client(bob).get(f"{ADMIN}merchants/apikey/?status=pending").content.decode()

    refused = approve_in_console(ada_client, api_key)
    assert "not approved: the person who issued a key cannot approve it" in refused
    assert reveal(plaintext, tenant, stored_card).status_code == 401
    verified_client(support).post(
        f"{ADMIN}merchants/apikey/", {"action": "approve_selected", "_selected_action": [api_key.pk]}
    )
    api_key.refresh_from_db()
    assert api_key.approved_at is None  # support has no such action

    assert "approved: it authenticates from now on" in approve_in_console(verified_client(bob), api_key)
    assert reveal(plaintext, tenant, stored_card).status_code == 200
    api_key.refresh_from_db()
    assert api_key.approved_by == "admin:bob-admin"
    outcomes = list(
        AuditEvent.objects.filter(action="api_key.approve").order_by("id").values_list("actor_id", "outcome")
    )
    assert outcomes == [("ada-admin", "denied"), ("bob-admin", "success")]


def test_a_superuser_other_than_the_issuer_may_approve(db, tenant):
    ada = make_console_user("ada-admin", roles.ADMINISTRATORS)
    root = make_console_user("root", None, superuser=True)
    plaintext, _ = issue_in_console(verified_client(ada), tenant.merchant, REVEAL_SCOPES)
    api_key = ApiKey.objects.get(key_id=plaintext.split("_")[1])
    approve_in_console(verified_client(root), api_key)
    api_key.refresh_from_db()
    assert api_key.state == ApiKeyState.LIVE and api_key.approved_by == "admin:root"


def run(*args: str) -> dict:
    out = io.StringIO()
    call_command(*args, "--json", stdout=out)
    return json.loads(out.getvalue().splitlines()[-1])


def test_the_operator_commands_issue_reveal_keys_pending_unless_single_control_is_asked(tenant, stored_card):
    pending = run("create_api_key", tenant.merchant.pk, "--scopes", *REVEAL_SCOPES)
    assert pending["status"] == "pending"
    assert reveal(pending["api_key"], tenant, stored_card).status_code == 401

    bootstrap = run("create_api_key", tenant.merchant.pk, "--scopes", *REVEAL_SCOPES, "--single-control")
    assert bootstrap["status"] == "live"
    assert reveal(bootstrap["api_key"], tenant, stored_card).status_code == 200
    event = AuditEvent.objects.get(action="api_key.issue", object_id=bootstrap["key_id"])
    assert event.actor_kind == "operator" and event.details["single_control"] is True
    assert AuditEvent.objects.get(action="api_key.issue", object_id=pending["key_id"]).details["pending_approval"]

    onboarded = run("create_merchant", "Acme", "--scopes", *REVEAL_SCOPES)
    assert onboarded["status"] == "pending"
    out = io.StringIO()
    call_command("create_api_key", tenant.merchant.pk, "--scopes", *REVEAL_SCOPES, stdout=out)
    assert "pending approval" in out.getvalue()


def test_an_account_the_issuer_created_cannot_approve_the_issuers_key(db, tenant):
    ada = make_console_user("ada-admin", roles.ADMINISTRATORS)
    ada_client = verified_client(ada)
    password = "A-long-Passw0rd-here"
    created = ada_client.post(
        f"{ADMIN}auth/user/add/",
        {"username": "ada2", "password1": password, "password2": password, "usable_password": "true",
         "role": roles.ADMINISTRATORS},
    )  # fmt: skip
    assert created.status_code == 302
    plaintext, _ = issue_in_console(ada_client, tenant.merchant, REVEAL_SCOPES)
    api_key = ApiKey.objects.get(key_id=plaintext.split("_")[1])
    puppet = User.objects.get(username="ada2")
    device = TOTPDevice.objects.create(user=puppet, name="test", confirmed=True)
    assert "an account created by the key&#x27;s issuer cannot approve it" in approve_in_console(
        verified_client(ConsoleUser(user=puppet, device=device)), api_key
    )
    api_key.refresh_from_db()
    assert api_key.approved_at is None
