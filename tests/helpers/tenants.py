"""Merchants with a profile and API keys, made through the services as an operator would."""

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.utils import timezone

from audit.actors import Actor
from merchants import scopes
from merchants.models import ApiKey, ApiKeyState, Merchant, Profile
from merchants.services import IssuedKey, api_key_approve, api_key_issue, merchant_create, profile_create

TEST_ACTOR = Actor(kind="operator", id="pytest")
# Keys with a dual-control scope are approved by a second person, as in production.
APPROVER = Actor(kind="operator", id="pytest-approver")


@dataclass
class Tenant:
    merchant: Merchant
    profile: Profile
    key: str
    api_key: ApiKey
    extra: dict[str, Any] = field(default_factory=dict)


def make_tenant(name: str = "Shop", *, key_scopes=scopes.DEFAULT_SCOPES, expires_at=None) -> Tenant:
    merchant = merchant_create(actor=TEST_ACTOR, name=name)
    profile = profile_create(actor=TEST_ACTOR, merchant=merchant, name="default")
    issued = _issue(merchant, key_scopes, expires_at)
    return Tenant(merchant=merchant, profile=profile, key=issued.plaintext, api_key=issued.api_key)


def issue_key(tenant: Tenant, *, key_scopes=scopes.DEFAULT_SCOPES, expires_in: timedelta | None = None) -> str:
    expires_at = timezone.now() + expires_in if expires_in else None
    return _issue(tenant.merchant, key_scopes, expires_at).plaintext


def _issue(merchant: Merchant, key_scopes, expires_at) -> IssuedKey:
    issued = api_key_issue(actor=TEST_ACTOR, merchant=merchant, scopes=key_scopes, expires_at=expires_at)
    if issued.api_key.state == ApiKeyState.PENDING:
        issued = IssuedKey(api_key=api_key_approve(actor=APPROVER, api_key=issued.api_key), plaintext=issued.plaintext)
    return issued
