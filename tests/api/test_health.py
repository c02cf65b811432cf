"""Liveness and readiness endpoints."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import OperationalError
from django.test import Client

from api import health
from tests.helpers.customers import create_customer
from tests.helpers.payment_methods import create_payment_method
from tokens.custody.local import LocalRoot
from tokens.keys import KeyProviderUnavailable
from tokens.models import MerchantKey, PaymentMethod


@pytest.fixture(autouse=True)
def fresh_probes():
    for probe in health.PROBES:
        probe.forget()


def test_liveness_needs_nothing(db):
    response = Client().get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_ready_checks_database_and_keyring(db):
    response = Client().get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": True, "key_provider": True, "keys_in_use": True},
    }


def test_not_ready_without_a_usable_keyring(db, monkeypatch):
    def unavailable():
        raise KeyProviderUnavailable("kms down")

    monkeypatch.setattr("tokens.custody.root_provider", unavailable)
    response = Client().get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": True, "key_provider": False, "keys_in_use": True}
    assert response.json()["error"]["code"] == "HE_00"


def test_not_ready_when_the_database_check_fails(db, monkeypatch):
    class Unreachable:
        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr("api.health.connection", Unreachable())
    response = Client().get("/health/ready")
    assert response.status_code == 503 and response.json()["checks"]["database"] is False


def test_health_routes_refuse_other_methods(db):
    assert Client().post("/health").status_code == 405
    assert Client().delete("/health/ready").status_code == 405


def test_the_key_provider_probe_is_cached_for_a_few_seconds(db, monkeypatch):
    sealed = []
    real_wrap = LocalRoot.wrap
    monkeypatch.setattr(LocalRoot, "wrap", lambda *a, **k: sealed.append(1) or real_wrap(*a, **k))
    for _ in range(5):
        assert Client().get("/health/ready").status_code == 200
    assert len(sealed) == 1
    health.keyring_probe.at -= health.KEYRING_PROBE_SECONDS
    Client().get("/health/ready")
    assert len(sealed) == 2


def test_readiness_reports_redis_and_fails_without_it_only_under_the_deny_policy(db, settings, redis_server):
    settings.REDIS_URL = redis_server.url
    ready = Client().get("/health/ready")
    assert ready.status_code == 200 and ready.json()["checks"]["rate_limit_store"] is True
    redis_server.stop()
    settings.VAULT_RATE_LIMIT_ON_STORE_ERROR = "allow"
    allowed = Client().get("/health/ready")
    assert allowed.status_code == 200 and allowed.json()["checks"]["rate_limit_store"] is False
    settings.VAULT_RATE_LIMIT_ON_STORE_ERROR = "deny"
    denied = Client().get("/health/ready")
    assert denied.status_code == 503 and denied.json()["checks"]["rate_limit_store"] is False


def test_readiness_names_kek_versions_that_stored_cards_need_and_the_keyring_lacks(api, settings):
    keyring_before = dict(settings.VAULT_KEYRING)
    card = create_payment_method(api, create_customer(api)["id"])
    # The merchant key that wraps the card is wrapped under the local root key of this version.
    stored = MerchantKey.objects.get(merchant_id=PaymentMethod.objects.get(pk=card["id"]).merchant_id).root_version
    settings.VAULT_KEYRING = {"9": bytes(range(32))}
    settings.VAULT_ACTIVE_KEK = "9"
    response = Client().get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["keys_in_use"] is False
    assert response.json()["missing_kek_versions"] == [stored]
    # Once the merchant key is re-wrapped under the new root key, the instance is ready again.
    settings.VAULT_KEYRING = {stored: keyring_before[stored], "9": bytes(range(32))}
    call_command("rotate_keys", "--root", stdout=StringIO())
    settings.VAULT_KEYRING = {"9": bytes(range(32))}
    health.missing_keks_probe.forget()
    assert Client().get("/health/ready").status_code == 200


def test_readiness_names_fingerprint_key_versions_that_stored_cards_carry_and_the_keys_lack(api, settings):
    create_payment_method(api, create_customer(api)["id"])
    settings.VAULT_FINGERPRINT_KEYS = {"9": bytes(range(64, 96))}
    response = Client().get("/health/ready")
    assert response.status_code == 503
    assert response.json()["missing_fingerprint_key_versions"] == ["1"]
    assert "missing_kek_versions" not in response.json()
