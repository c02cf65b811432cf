"""Fixtures: merchants with keys, and an API client that speaks the vault's headers."""

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from audit.actors import Actor
from audit.models import AuditEvent
from core.card_numbers import luhn_complete
from customers.models import Customer
from merchants import scopes
from merchants.models import ApiKey, Merchant, Profile
from merchants.services import api_key_issue, merchant_create, profile_create

TEST_ACTOR = Actor(kind="operator", id="pytest")


@dataclass
class Tenant:
    merchant: Merchant
    profile: Profile
    key: str
    api_key: ApiKey
    extra: dict[str, Any] = field(default_factory=dict)


class VaultClient:
    """Django's test client with the vault's auth headers and JSON bodies by default."""

    def __init__(self, key: str | None, profile_id: str | None, header_style: str = "authorization") -> None:
        self.client = Client()
        self.key = key
        self.profile_id = profile_id
        self.header_style = header_style

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.key is not None:
            if self.header_style == "authorization":
                headers["Authorization"] = f"api-key={self.key}"
            else:
                headers["api-key"] = self.key
        if self.profile_id is not None:
            headers["X-Profile-Id"] = self.profile_id
        headers.update(extra or {})
        return headers

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | str | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ):
        data = raw if raw is not None else (json.dumps(body) if body is not None else "")
        return self.client.generic(method, path, data=data, content_type=content_type, headers=self.headers(headers))

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs):
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs):
        return self.request("PUT", path, body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs):
        return self.request("PATCH", path, body, **kwargs)

    def delete(self, path: str, **kwargs):
        return self.request("DELETE", path, **kwargs)


def make_tenant(name: str = "Shop", *, key_scopes=scopes.DEFAULT_SCOPES, expires_at=None) -> Tenant:
    merchant = merchant_create(actor=TEST_ACTOR, name=name)
    profile = profile_create(actor=TEST_ACTOR, merchant=merchant, name="default")
    issued = api_key_issue(actor=TEST_ACTOR, merchant=merchant, scopes=key_scopes, expires_at=expires_at)
    return Tenant(merchant=merchant, profile=profile, key=issued.plaintext, api_key=issued.api_key)


@pytest.fixture
def tenant(db) -> Tenant:
    return make_tenant("Merchant A")


@pytest.fixture
def other_tenant(db) -> Tenant:
    return make_tenant("Merchant B")


@pytest.fixture
def api(tenant) -> VaultClient:
    return VaultClient(tenant.key, tenant.profile.id)


@pytest.fixture
def other_api(other_tenant) -> VaultClient:
    return VaultClient(other_tenant.key, other_tenant.profile.id)


def issue_key(tenant: Tenant, *, key_scopes=scopes.DEFAULT_SCOPES, expires_in: timedelta | None = None) -> str:
    expires_at = timezone.now() + expires_in if expires_in else None
    return api_key_issue(actor=TEST_ACTOR, merchant=tenant.merchant, scopes=key_scopes, expires_at=expires_at).plaintext


CUSTOMER_BODY = {"name": "Ada Lovelace", "email": "ada@example.com"}


def create_customer(api: VaultClient, **fields) -> dict:
    response = api.post("/customers", {**CUSTOMER_BODY, **fields})
    assert response.status_code == 200, response.content
    return response.json()


def stored_counts() -> tuple[int, int]:
    """(customers, audit events): what a refused request must leave unchanged."""
    return Customer.objects.count(), AuditEvent.objects.count()


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"]["code"] == code, body
    assert body["error"]["type"] == ("api" if status >= 500 else "invalid_request")
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert response["Cache-Control"] == "no-store"
    assert response["X-Request-Id"]
    return body


def card_number(index: int, prefix: str = "4", length: int = 16) -> str:
    """A distinct valid card number per *index*."""
    body = f"{prefix}{index:0{length - len(prefix) - 1}d}"
    return luhn_complete(body)


VISA = "4242424242424242"


def card_body(customer_id: str | None, number: str = VISA, storage_type: str = "persistent", **card_fields) -> dict:
    card = {
        "card_number": number,
        "card_exp_month": "12",
        "card_exp_year": "2035",
        "card_holder_name": "Ada Lovelace",
        **card_fields,
    }
    body = {
        "payment_method_type": "card",
        "payment_method_subtype": "credit",
        "payment_method_data": {"card": card},
        "storage_type": storage_type,
    }
    if customer_id is not None:
        body["customer_id"] = customer_id
    return body


def create_payment_method(api: VaultClient, customer_id: str | None, number: str = VISA, **card_fields) -> dict:
    response = api.post("/payment_methods", card_body(customer_id, number, **card_fields))
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture(autouse=True)
def fresh_credential_cache():
    """Each test starts with no verified key remembered by this process."""
    from merchants.credential_cache import credential_cache

    credential_cache.clear()
    yield
    credential_cache.clear()
