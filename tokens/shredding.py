"""Crypto-shredding: destroy a merchant's keys so that every card of the merchant is unreadable at once.

Two superusers are needed: one requests (typing the merchant id), a second approves (typing it again),
and only then is it done, in one transaction with its audit row:

- every merchant key version is destroyed (its wrapped copy emptied): the cards' data keys, wrapped
  under it, can no longer be opened by anyone, whatever copy of the database they hold;
- every payment method of the merchant is redacted (ciphertexts, fingerprints emptied; network
  tokens marked for deletion at the token service);
- every API key of the merchant is revoked.

A backup taken before the shred still holds the wrapped merchant key, which the root key opens:
docs/KEY_MANAGEMENT.md says how to retire that root key so old backups are shredded too.
"""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_record
from merchants.models import ApiKey, Merchant
from merchants.services import api_key_revoke
from tokens.merchant_keys import destroy_merchant_keys
from tokens.models import GenericToken, MerchantShredRequest, PaymentMethod
from tokens.network.protocol import TOKEN_DELETED


class ShredRefused(ValueError):
    """The request or approval does not meet the rules; the message says which."""


@dataclass(frozen=True)
class ShredResult:
    merchant_id: str
    key_versions: list[int]
    payment_methods: int
    api_keys: int


def _check_superuser(user: AbstractBaseUser, what: str) -> None:
    if not (user.is_active and getattr(user, "is_superuser", False)):
        raise ShredRefused(f"only an active superuser may {what} a shred")


def _check_confirmation(merchant: Merchant, confirmation: str) -> None:
    if confirmation.strip() != merchant.id:
        raise ShredRefused("the confirmation must be the merchant's id, typed out")


def pending_request(merchant: Merchant) -> MerchantShredRequest | None:
    pending = MerchantShredRequest.objects.for_merchant(merchant).filter(status=MerchantShredRequest.Status.PENDING)
    return pending.first()


def shred_request(
    *, actor: Actor, user: AbstractBaseUser, merchant: Merchant, reason: str, confirmation: str
) -> MerchantShredRequest:
    """Ask for *merchant* to be shredded; a second superuser must approve."""
    _check_superuser(user, "request")
    _check_confirmation(merchant, confirmation)
    if not reason.strip():
        raise ShredRefused("give the reason for the shred")
    with transaction.atomic():
        if pending_request(merchant) is not None:
            raise ShredRefused("a shred of this merchant is already waiting for approval")
        request = MerchantShredRequest.objects.create(merchant=merchant, requested_by=user, reason=reason.strip())
        audit_record(
            actor=actor,
            action=AuditAction.MERCHANT_SHRED_REQUEST,
            object_type="merchant",
            object_id=merchant.id,
            merchant_id=merchant.id,
            details={"request": request.pk, "requested_by": user.get_username(), "reason": request.reason},
        )
    return request


def shred_cancel(*, actor: Actor, user: AbstractBaseUser, request: MerchantShredRequest) -> None:
    _check_superuser(user, "cancel")
    with transaction.atomic():
        request = MerchantShredRequest.objects.for_merchant(request.merchant_id).select_for_update().get(pk=request.pk)
        if request.status != MerchantShredRequest.Status.PENDING:
            raise ShredRefused("this request is no longer pending")
        request.status, request.decided_by = MerchantShredRequest.Status.CANCELLED, user
        request.decided_at = timezone.now()
        request.save(update_fields=["status", "decided_by", "decided_at"])
        audit_record(
            actor=actor,
            action=AuditAction.MERCHANT_SHRED_REQUEST,
            object_type="merchant",
            object_id=request.merchant_id,
            merchant_id=request.merchant_id,
            outcome="failure",
            details={"request": request.pk, "cancelled_by": user.get_username()},
        )


def shred_approve(
    *, actor: Actor, user: AbstractBaseUser, request: MerchantShredRequest, confirmation: str
) -> ShredResult:
    """Approve a pending request as a second superuser, and shred the merchant now. Irreversible."""
    _check_superuser(user, "approve")
    with transaction.atomic():
        request = (
            MerchantShredRequest.objects.for_merchant(request.merchant_id)
            .select_for_update()
            .select_related("merchant", "requested_by")
            .get(pk=request.pk)
        )
        if request.status != MerchantShredRequest.Status.PENDING:
            raise ShredRefused("this request is no longer pending")
        if request.requested_by_id == user.pk:
            raise ShredRefused("a second superuser must approve: the requester cannot")
        _check_confirmation(request.merchant, confirmation)
        result = _shred(actor=actor, merchant=request.merchant)
        request.status, request.decided_by = MerchantShredRequest.Status.EXECUTED, user
        request.decided_at = timezone.now()
        request.save(update_fields=["status", "decided_by", "decided_at"])
        audit_record(
            actor=actor,
            action=AuditAction.MERCHANT_SHRED,
            object_type="merchant",
            object_id=request.merchant_id,
            merchant_id=request.merchant_id,
            details={
                "irreversible": True,
                "request": request.pk,
                "reason": request.reason,
                "requested_by": request.requested_by.get_username(),
                "approved_by": user.get_username(),
                "merchant_key_versions_destroyed": result.key_versions,
                "payment_methods_redacted": result.payment_methods,
                "api_keys_revoked": result.api_keys,
            },
        )
    return result


def _shred(*, actor: Actor, merchant: Merchant) -> ShredResult:
    """Destroy the keys, redact the payment methods, revoke the API keys (in the caller's transaction)."""
    versions = destroy_merchant_keys(merchant.id)
    live = PaymentMethod.objects.for_merchant(merchant).exclude(status=PaymentMethod.Status.REDACTED)
    # Network tokens still live at the token service are deleted there by the worker, as on a delete.
    live.filter(network_token_ref__isnull=False).exclude(network_token_status=TOKEN_DELETED).update(
        network_token_delete_pending=True
    )
    redacted = live.update(
        status=PaymentMethod.Status.REDACTED,
        sealed_card="",
        kek_version="",
        merchant_key_version=None,
        card_fingerprint=None,
        sealed_cvc="",
        cvc_expires_at=None,
        updated_at=timezone.now(),
    )
    GenericToken.objects.for_merchant(merchant).filter(flag=GenericToken.Flag.ENABLED).update(
        flag=GenericToken.Flag.DISABLED, sealed_value="", merchant_key_version=None, disabled_at=timezone.now()
    )
    keys = list(ApiKey.objects.filter(merchant=merchant, revoked_at__isnull=True))
    for api_key in keys:
        api_key_revoke(actor=actor, api_key=api_key)
    return ShredResult(merchant_id=merchant.id, key_versions=versions, payment_methods=redacted, api_keys=len(keys))
