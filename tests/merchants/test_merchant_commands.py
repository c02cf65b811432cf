"""Operator commands bootstrap a vault without the admin."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from merchants.models import ApiKey, Merchant, Profile
from tests.helpers.api import VaultClient, assert_error
from tests.helpers.customers import CUSTOMER_BODY


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_create_merchant_json_gives_a_working_key():
    data = json.loads(run("create_merchant", "Acme", "--json"))
    assert set(data) == {"merchant_id", "profile_id", "api_key", "status"} and data["status"] == "live"
    assert data["api_key"].startswith("vlt_")
    client = VaultClient(data["api_key"], data["profile_id"])
    assert client.post("/customers", CUSTOMER_BODY).status_code == 200
    key = ApiKey.objects.get(merchant_id=data["merchant_id"])
    assert "payment_methods:reveal" not in key.scopes and "customers:write" in key.scopes
    actions = set(AuditEvent.objects.filter(merchant_id=data["merchant_id"]).values_list("action", flat=True))
    assert {"merchant.create", "profile.create", "api_key.issue"} <= actions
    assert not AuditEvent.objects.filter(details__icontains=data["api_key"]).exists()


@pytest.mark.django_db
def test_create_merchant_applies_profile_name_tokenization_and_scopes():
    data = json.loads(
        run(
            "create_merchant",
            "Acme",
            "--profile-name",
            "web",
            "--network-tokenization",
            "--scopes",
            "customers:read",
            "payment_methods:reveal",
            "--json",
        )
    )
    profile = Profile.objects.get(id=data["profile_id"])
    assert profile.name == "web" and profile.network_tokenization_enabled
    assert ApiKey.objects.get(merchant_id=data["merchant_id"]).scopes == ["customers:read", "payment_methods:reveal"]


@pytest.mark.django_db
def test_create_merchant_prints_the_key_once_for_people():
    text = run("create_merchant", "Acme")
    assert "api_key:" in text and "shown only this once" in text


@pytest.mark.django_db
def test_unknown_scope_is_refused():
    with pytest.raises(CommandError):
        call_command("create_merchant", "Acme", "--scopes", "everything", stdout=StringIO(), stderr=StringIO())
    assert not Merchant.objects.exists()


@pytest.mark.django_db
def test_created_profile_and_key_work_and_revoking_the_key_spares_the_first():
    merchant = json.loads(run("create_merchant", "Acme", "--json"))
    profile = json.loads(run("create_profile", merchant["merchant_id"], "--name", "app", "--json"))
    assert profile["merchant_id"] == merchant["merchant_id"] and profile["profile_id"].startswith("pro_")
    issued = json.loads(run("create_api_key", merchant["merchant_id"], "--expires-in-days", "30", "--json"))
    assert issued["expires_at"] is not None
    client = VaultClient(issued["api_key"], profile["profile_id"])
    assert client.get("/customers").status_code == 200
    revoked = json.loads(run("revoke_api_key", issued["key_id"], "--json"))
    assert revoked["key_id"] == issued["key_id"]
    assert_error(client.get("/customers"), 401, "IR_01")
    # The first key is untouched.
    assert VaultClient(merchant["api_key"], profile["profile_id"]).get("/customers").status_code == 200
    assert AuditEvent.objects.filter(action="api_key.revoke", object_id=issued["key_id"]).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args",
    [
        ("create_profile", "mer_missing"),
        ("create_api_key", "mer_missing"),
        ("revoke_api_key", "nokey"),
    ],
)
def test_commands_refuse_unknown_ids(args):
    with pytest.raises(CommandError):
        call_command(*args, stdout=StringIO())


@pytest.mark.django_db
def test_past_expiry_is_refused():
    merchant = json.loads(run("create_merchant", "Acme", "--json"))
    with pytest.raises(CommandError):
        call_command(
            "create_api_key", merchant["merchant_id"], "--expires-at", "2001-01-01T00:00:00", stdout=StringIO()
        )


@pytest.mark.django_db
def test_demo_merchant_prints_its_key_once():
    first = run("demo_merchant")
    assert "VAULT_API_KEY=vlt_" in first and "VAULT_PROFILE_ID=pro_" in first
    second = run("demo_merchant")
    assert "vlt_" not in second and "create_api_key" in second
    assert Merchant.objects.count() == 1
