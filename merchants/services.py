"""Create merchants, profiles and API keys; revoke keys. Each act is audited in its transaction."""

import secrets
import string
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_record
from merchants import keys
from merchants.credential_cache import announce_revocation, credential_cache
from merchants.models import ApiKey, Merchant, Profile
from merchants.scopes import DEFAULT_SCOPES, normalise_scopes

_ALPHANUMERIC = string.ascii_letters + string.digits


def _random_suffix(length: int) -> str:
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


@dataclass(frozen=True)
class IssuedKey:
    """A new key and its plaintext, which exists only here and is shown once."""

    api_key: ApiKey
    plaintext: str

    def __repr__(self) -> str:
        return f"IssuedKey(key_id={self.api_key.key_id!r}, plaintext='***')"


@transaction.atomic
def merchant_create(*, actor: Actor, name: str) -> Merchant:
    merchant = Merchant.objects.create(id=f"mer_{_random_suffix(20)}", name=name)
    audit_record(
        actor=actor,
        action=AuditAction.MERCHANT_CREATE,
        object_type="merchant",
        object_id=merchant.id,
        merchant_id=merchant.id,
    )
    return merchant


@transaction.atomic
def profile_create(
    *, actor: Actor, merchant: Merchant, name: str, network_tokenization_enabled: bool = False
) -> Profile:
    profile = Profile.objects.create(
        id=f"pro_{_random_suffix(20)}",
        merchant=merchant,
        name=name,
        network_tokenization_enabled=network_tokenization_enabled,
    )
    audit_record(
        actor=actor,
        action=AuditAction.PROFILE_CREATE,
        object_type="profile",
        object_id=profile.id,
        merchant_id=merchant.id,
        details={"network_tokenization_enabled": network_tokenization_enabled},
    )
    return profile


@transaction.atomic
def api_key_issue(
    *,
    actor: Actor,
    merchant: Merchant,
    scopes: list[str] | tuple[str, ...] = DEFAULT_SCOPES,
    name: str = "",
    expires_at: datetime | None = None,
) -> IssuedKey:
    """Create a key for *merchant*; raise ValueError for an unknown scope or a past expiry."""
    scopes = normalise_scopes(scopes)
    if not scopes:
        raise ValueError("a key needs at least one scope")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValueError("the expiry must lie in the future")
    key_id, plaintext = keys.generate_key()
    api_key = ApiKey.objects.create(
        key_id=key_id,
        merchant=merchant,
        name=name,
        secret_hash=keys.hash_key(plaintext),
        scopes=scopes,
        expires_at=expires_at,
    )
    audit_record(
        actor=actor,
        action=AuditAction.API_KEY_ISSUE,
        object_type="api_key",
        object_id=key_id,
        merchant_id=merchant.id,
        details={"scopes": scopes, "expires_at": expires_at.isoformat() if expires_at else None},
    )
    return IssuedKey(api_key=api_key, plaintext=plaintext)


@dataclass(frozen=True)
class Onboarded:
    merchant: Merchant
    profile: Profile
    issued: IssuedKey


@transaction.atomic
def merchant_onboard(
    *,
    actor: Actor,
    name: str,
    profile_name: str = "default",
    network_tokenization_enabled: bool = False,
    scopes: list[str] | tuple[str, ...] = DEFAULT_SCOPES,
) -> Onboarded:
    """Create a merchant with its first profile and API key, all or nothing."""
    merchant = merchant_create(actor=actor, name=name)
    profile = profile_create(
        actor=actor, merchant=merchant, name=profile_name, network_tokenization_enabled=network_tokenization_enabled
    )
    return Onboarded(
        merchant=merchant, profile=profile, issued=api_key_issue(actor=actor, merchant=merchant, scopes=scopes)
    )


@transaction.atomic
def api_key_revoke(*, actor: Actor, api_key: ApiKey) -> ApiKey:
    """Revoke *api_key* at once; revoking a revoked key changes nothing and is not an error."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        # At once in this process; in every other within a second through Redis (else within
        # VAULT_API_KEY_CACHE_SECONDS). Cleared again after commit: a request verifying the key
        # meanwhile read it unrevoked, and its cache entry must not outlive the revocation.
        transaction.on_commit(credential_cache.clear)
        transaction.on_commit(announce_revocation)
        credential_cache.clear()
        audit_record(
            actor=actor,
            action=AuditAction.API_KEY_REVOKE,
            object_type="api_key",
            object_id=api_key.key_id,
            merchant_id=api_key.merchant_id,
        )
    return api_key


def api_key_touch(*, api_key: ApiKey, interval_seconds: int) -> None:
    """Record use of *api_key*, writing at most once per interval so reads stay reads."""
    now = timezone.now()
    if api_key.last_used_at is not None and (now - api_key.last_used_at).total_seconds() < interval_seconds:
        return
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now


@transaction.atomic
def merchant_rename(*, actor: Actor, merchant: Merchant, name: str) -> Merchant:
    if merchant.name != name:
        merchant.name = name
        merchant.save(update_fields=["name"])
        audit_record(
            actor=actor,
            action=AuditAction.MERCHANT_UPDATE,
            object_type="merchant",
            object_id=merchant.id,
            merchant_id=merchant.id,
        )
    return merchant


@transaction.atomic
def profile_update(*, actor: Actor, profile: Profile, name: str, network_tokenization_enabled: bool) -> Profile:
    changed = {}
    if profile.name != name:
        profile.name = name
        changed["name"] = True
    if profile.network_tokenization_enabled != network_tokenization_enabled:
        profile.network_tokenization_enabled = network_tokenization_enabled
        changed["network_tokenization_enabled"] = network_tokenization_enabled
    if changed:
        profile.save(update_fields=[field for field in ("name", "network_tokenization_enabled") if field in changed])
        audit_record(
            actor=actor,
            action=AuditAction.PROFILE_UPDATE,
            object_type="profile",
            object_id=profile.id,
            merchant_id=profile.merchant_id,
            details={"network_tokenization_enabled": profile.network_tokenization_enabled},
        )
    return profile
