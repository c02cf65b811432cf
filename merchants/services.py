"""Create merchants, profiles and API keys; revoke keys. Each act is audited in its transaction."""

import secrets
import string
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.models import AuditEvent
from audit.services import audit_record
from merchants import keys
from merchants.credential_cache import announce_revocation, credential_cache
from merchants.models import ApiKey, ApiKeyState, Merchant, Profile
from merchants.scopes import DEFAULT_SCOPES, needs_second_approval, normalise_scopes

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


class ApprovalRefused(Exception):
    """An approval that dual control does not allow; the refusal is audited as denied."""


def actor_label(actor: Actor) -> str:
    return f"{actor.kind}:{actor.id}"


@transaction.atomic
def api_key_issue(
    *,
    actor: Actor,
    merchant: Merchant,
    scopes: list[str] | tuple[str, ...] = DEFAULT_SCOPES,
    name: str = "",
    expires_at: datetime | None = None,
    single_control: bool = False,
) -> IssuedKey:
    """Create a key for *merchant*; raise ValueError for an unknown scope or a past expiry.

    A key with a dual-control scope is created pending: it authenticates nothing until someone other
    than *actor* approves it (`api_key_approve`). *single_control* skips that, for an operator
    bootstrapping an installation; the audit row says so."""
    scopes = normalise_scopes(scopes)
    if not scopes:
        raise ValueError("a key needs at least one scope")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValueError("the expiry must lie in the future")
    dual_control = needs_second_approval(scopes)
    pending = dual_control and not single_control
    key_id, plaintext = keys.generate_key()
    api_key = ApiKey.objects.create(
        key_id=key_id,
        merchant=merchant,
        name=name,
        secret_hash=keys.hash_key(plaintext),
        scopes=scopes,
        expires_at=expires_at,
        issued_by=actor_label(actor),
        approved_at=None if pending else timezone.now(),
        approved_by="" if pending else actor_label(actor),
    )
    details: dict = {"scopes": scopes, "expires_at": expires_at.isoformat() if expires_at else None}
    if dual_control:
        details["pending_approval" if pending else "single_control"] = True
    audit_record(
        actor=actor,
        action=AuditAction.API_KEY_ISSUE,
        object_type="api_key",
        object_id=key_id,
        merchant_id=merchant.id,
        details=details,
    )
    return IssuedKey(api_key=api_key, plaintext=plaintext)


def api_key_approve(*, actor: Actor, api_key: ApiKey) -> ApiKey:
    """Make a pending key usable. Its issuer cannot approve it; a refusal is audited as denied and
    raised as ApprovalRefused."""
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
        refusal = _approval_refusal(actor, key)
        if refusal is None:
            key.approved_at, key.approved_by = timezone.now(), actor_label(actor)
            key.save(update_fields=["approved_at", "approved_by"])
            audit_record(
                actor=actor,
                action=AuditAction.API_KEY_APPROVE,
                object_type="api_key",
                object_id=key.key_id,
                merchant_id=key.merchant_id,
                details={"issued_by": key.issued_by, "scopes": key.scopes},
            )
            return key
        audit_record(
            actor=actor,
            action=AuditAction.API_KEY_APPROVE,
            object_type="api_key",
            object_id=key.key_id,
            merchant_id=key.merchant_id,
            outcome=AuditEvent.Outcome.DENIED,
            details={"reason": refusal},
        )
    raise ApprovalRefused(refusal)


def _approval_refusal(actor: Actor, key: ApiKey) -> str | None:
    if key.state != ApiKeyState.PENDING:
        return f"the key is {key.state.label.lower()}, not waiting for approval"
    return second_person_refusal(actor, key.issued_by, act="issued a key", requester="the key's issuer")


def second_person_refusal(actor: Actor, requested_by: str, *, act: str, requester: str) -> str | None:
    """Why *actor* may not approve what *requested_by* (`kind:id`) did (*act*, e.g. "issued a key";
    *requester* names that person), or None: dual control needs a second person, and an account the
    requester created is not one."""
    if actor_label(actor) == requested_by:
        return f"the person who {act} cannot approve it: a second person must"
    if _created_by(actor, requested_by):
        return f"an account created by {requester} cannot approve it: a second person must"
    return None


def _created_by(actor: Actor, issuer: str) -> bool:
    """Whether the issuer made the approver's console account (a second account is not a second person)."""
    kind, _, issuer_id = issuer.partition(":")
    if kind != "admin" or actor.kind != "admin":
        return False
    return AuditEvent.objects.filter(
        action=AuditAction.ADMIN_USER_CREATE, actor_kind="admin", actor_id=issuer_id, details__username=actor.id
    ).exists()


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
    single_control: bool = False,
) -> Onboarded:
    """Create a merchant with its first profile and API key, all or nothing."""
    merchant = merchant_create(actor=actor, name=name)
    profile = profile_create(
        actor=actor, merchant=merchant, name=profile_name, network_tokenization_enabled=network_tokenization_enabled
    )
    return Onboarded(
        merchant=merchant,
        profile=profile,
        issued=api_key_issue(actor=actor, merchant=merchant, scopes=scopes, single_control=single_control),
    )


def _reach_every_instance() -> None:
    """Forget verified keys (with their merchant and profile) at once in this process, and in every
    other within a second through Redis (else within VAULT_API_KEY_CACHE_SECONDS). Cleared again
    after commit: a request verifying a key meanwhile read the old row, and its cache entry must not
    outlive the change."""
    transaction.on_commit(credential_cache.clear)
    transaction.on_commit(announce_revocation)
    credential_cache.clear()


@transaction.atomic
def api_key_revoke(*, actor: Actor, api_key: ApiKey) -> ApiKey:
    """Revoke *api_key* at once; revoking a revoked key changes nothing and is not an error."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        _reach_every_instance()
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
def merchant_set_rate_limit(*, actor: Actor, merchant: Merchant, per_minute: int | None) -> Merchant:
    """Set the merchant's requests per minute (None: the installation's default), on every instance
    within a second; audited with the limit before and after."""
    if per_minute is not None and per_minute < 0:
        raise ValueError("a rate limit is 0 or more requests a minute")
    before = merchant.rate_limit_per_minute
    if before != per_minute:
        merchant.rate_limit_per_minute = per_minute
        merchant.save(update_fields=["rate_limit_per_minute"])
        _reach_every_instance()  # cached keys carry their merchant
        audit_record(
            actor=actor,
            action=AuditAction.MERCHANT_UPDATE,
            object_type="merchant",
            object_id=merchant.id,
            merchant_id=merchant.id,
            details={"rate_limit_per_minute": {"before": before, "after": per_minute}},
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
        _reach_every_instance()  # cached keys carry their profile
        audit_record(
            actor=actor,
            action=AuditAction.PROFILE_UPDATE,
            object_type="profile",
            object_id=profile.id,
            merchant_id=profile.merchant_id,
            details={"network_tokenization_enabled": profile.network_tokenization_enabled},
        )
    return profile
