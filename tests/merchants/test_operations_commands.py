"""Operator commands for day-to-day work: list merchants and keys, set a rate limit, switch a
profile's tokenization; each change audited and applied at once, each listing without a secret."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from audit.actors import operator_actor
from audit.models import AuditEvent
from merchants.scopes import PAYMENT_METHODS_REVEAL
from merchants.services import api_key_issue
from tests.helpers.api import VaultClient


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def json_lines(*args) -> list[dict]:
    return [json.loads(line) for line in run(*args, "--json").splitlines()]


def test_list_merchants_shows_ids_names_limits_and_live_keys(tenant, other_tenant):
    rows = {row["merchant_id"]: row for row in json_lines("list_merchants")}
    assert rows[tenant.merchant.pk]["name"] == "Merchant A" and rows[tenant.merchant.pk]["live_keys"] == 1
    assert rows[other_tenant.merchant.pk]["profiles"] == 1
    table = run("list_merchants")
    assert table.splitlines()[0].split() == ["merchant_id", "name", "rate_limit_per_minute", "profiles", "live_keys"]
    assert tenant.merchant.pk in table


def test_list_api_keys_finds_the_key_id_to_revoke_and_never_a_secret(tenant, other_tenant):
    pending = api_key_issue(actor=operator_actor(), merchant=tenant.merchant, scopes=[PAYMENT_METHODS_REVEAL]).plaintext
    rows = json_lines("list_api_keys", tenant.merchant.pk)
    assert {row["key_id"] for row in rows} == {tenant.api_key.key_id, pending.split("_")[1]}
    assert {row["status"] for row in rows} == {"live", "pending"}
    everything = run("list_api_keys") + run("list_api_keys", "--json")
    assert tenant.key not in everything and pending not in everything and tenant.key.split("_", 2)[2] not in everything
    assert other_tenant.api_key.key_id in everything
    with pytest.raises(CommandError, match="no merchant"):
        run("list_api_keys", "mer_nobody")


def test_set_rate_limit_applies_at_once_even_to_a_key_already_verified_and_is_audited(tenant, settings):
    settings.VAULT_RATE_LIMIT_PER_MINUTE = 0  # no limit by default
    client = VaultClient(tenant.key, tenant.profile.pk)
    assert client.get("/customers").status_code == 200  # the key is verified and cached now
    assert json_lines("set_rate_limit", tenant.merchant.pk, "2") == [
        {"merchant_id": tenant.merchant.pk, "rate_limit_per_minute": 2}
    ]
    assert [client.get("/customers").status_code for _ in range(3)] == [200, 200, 429]
    event = AuditEvent.objects.get(action="merchant.update", object_id=tenant.merchant.pk)
    assert event.actor_kind == "operator" and event.details == {"rate_limit_per_minute": {"before": None, "after": 2}}
    assert "the installation's default" in run("set_rate_limit", tenant.merchant.pk, "default")
    tenant.merchant.refresh_from_db()
    assert tenant.merchant.rate_limit_per_minute is None
    for bad in ("-1", "ten", "1e3", "٣"):
        with pytest.raises(CommandError, match="whole number"):
            run("set_rate_limit", tenant.merchant.pk, bad)
    with pytest.raises(CommandError, match="no merchant"):
        run("set_rate_limit", "mer_nobody", "5")


def test_update_profile_switches_network_tokenization_and_is_audited(tenant):
    assert not tenant.profile.network_tokenization_enabled
    [row] = json_lines("update_profile", tenant.profile.pk, "--network-tokenization", "on")
    assert row["network_tokenization_enabled"] is True and row["merchant_id"] == tenant.merchant.pk
    tenant.profile.refresh_from_db()
    assert tenant.profile.network_tokenization_enabled
    event = AuditEvent.objects.get(action="profile.update", object_id=tenant.profile.pk)
    assert event.details == {"network_tokenization_enabled": True}
    assert "network tokenization off" in run("update_profile", tenant.profile.pk, "--network-tokenization", "off")
    assert "name 'web shop'" in run("update_profile", tenant.profile.pk, "--name", " web shop ")
    with pytest.raises(CommandError, match="nothing to change"):
        run("update_profile", tenant.profile.pk)
    with pytest.raises(CommandError, match="cannot be empty"):
        run("update_profile", tenant.profile.pk, "--name", "  ")
    with pytest.raises(CommandError, match="no profile"):
        run("update_profile", "pro_nobody", "--name", "x")


def test_seeding_refuses_production_without_force(db, settings):
    settings.DEVELOPMENT = False
    with pytest.raises(CommandError, match="production"):
        call_command("seed_payment_methods", "1", "--no-progress", stdout=StringIO(), stderr=StringIO())
    assert not AuditEvent.objects.filter(action="payment_method.seed").exists()
    call_command("seed_payment_methods", "1", "--no-progress", "--force", stdout=StringIO(), stderr=StringIO())
    assert AuditEvent.objects.filter(action="payment_method.seed").exists()
