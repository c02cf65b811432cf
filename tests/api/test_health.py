"""Liveness and readiness endpoints."""

from django.db import OperationalError
from django.test import Client

from tokens.keys import KeyProviderUnavailable


def test_liveness_needs_nothing(db):
    response = Client().get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_ready_checks_database_and_keyring(db):
    response = Client().get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": True, "keyring": True}}


def test_not_ready_without_a_usable_keyring(db, monkeypatch):
    def unavailable():
        raise KeyProviderUnavailable("kms down")

    monkeypatch.setattr("tokens.crypto.key_provider", unavailable)
    response = Client().get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": True, "keyring": False}
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
