"""Vault, reveal, update and delete payment methods. Each act is audited in its own transaction."""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from audit.actions import AuditAction
from audit.actors import Actor
from audit.models import AuditEvent
from audit.services import audit_alone, audit_record, audit_with
from core import errors
from core.ids import new_global_id
from core.prepared import PendingWrite, PreparedInsert, pending_update
from customers.models import Customer
from merchants.models import Merchant, Profile
from tokens import crypto
from tokens.card_access import open_card
from tokens.crypto import CardSecret, CvcSecret
from tokens.keys import KeyProviderUnavailable
from tokens.models import PaymentMethod
from tokens.network.client import ProvisionedToken
from tokens.network.protocol import TOKEN_DELETED
from tokens.network.services import (
    holds_network_token,
    network_token_discard,
    network_token_fields,
    network_token_provision,
)
from tokens.selectors import (
    customer_and_duplicate,
    payment_method_duplicate,
    payment_method_get,
    payment_method_lookup,
)

CONNECTOR_TOKENS_MAX = 20
# Every create inserts one row: the statement is compiled once per process (core/prepared.py).
_INSERT = PreparedInsert(PaymentMethod)

logger = logging.getLogger("vault.crypto")


def _subject(payment_method: PaymentMethod) -> dict[str, Any]:
    """What an audit row names for an act on *payment_method*."""
    return {"object_type": "payment_method", "object_id": payment_method.id, "merchant_id": payment_method.merchant_id}


def _audit(actor: Actor, action: AuditAction, payment_method: PaymentMethod, **kwargs: Any) -> None:
    audit_record(actor=actor, action=action, **_subject(payment_method), **kwargs)


def _audit_with(write: PendingWrite[PaymentMethod], actor: Actor, action: AuditAction, **kwargs: Any) -> PaymentMethod:
    """A change to a payment method its transaction has locked, and its audit row, in one statement."""
    return audit_with(write, actor=actor, action=action, **_subject(write.instance), savepoint=False, **kwargs)


@sensitive_variables("secret", "card", "data")
def payment_method_create(*, actor: Actor, merchant: Merchant, profile: Profile, data: dict[str, Any]) -> PaymentMethod:
    """Vault a card. The same card for the same customer answers the existing payment method."""
    card = data["payment_method_data"]["card"]
    secret: CardSecret = card["card_number"]
    persistent = data["storage_type"] == PaymentMethod.StorageType.PERSISTENT
    fingerprints = crypto.fingerprint_candidates(secret, merchant_id=merchant.id)
    fingerprint = fingerprints[-1]  # under the newest fingerprint key: the one stored
    customer, existing = None, None
    if data.get("customer_id"):
        # The customer and the duplicate check in one query.
        customer, existing = customer_and_duplicate(
            merchant=merchant, customer_id=data["customer_id"], fingerprints=fingerprints
        )
    wants_token = (data.get("network_tokenization") or {}).get("enable") == "Enable"
    wants_token = wants_token and persistent and profile.network_tokenization_enabled

    def provision(payment_method_id: str) -> ProvisionedToken | None:
        return network_token_provision(
            actor=actor,
            merchant=merchant,
            payment_method_id=payment_method_id,
            card=secret,
            exp_month=card["card_exp_month"],
            exp_year=card["card_exp_year"],
            # The payment method's id: a card vaulted again after a timed-out create asks under the
            # same reference and gets the token already issued. A deleted card's successor asks anew.
            reference=payment_method_id,
        )

    if persistent and existing is not None:
        # Vaulted again: a card still without a live token (a create that timed out) tries again.
        token = provision(existing.id) if wants_token and not holds_network_token(existing) else None
        return _revault(actor=actor, payment_method=existing, card=card, secret=secret, token=token)
    payment_method_id = new_global_id("pm")
    token = provision(payment_method_id) if wants_token else None
    if token is not None:
        secret = token.sealable_with(secret)
    sealed = crypto.seal(secret, merchant_id=merchant.id, record_id=payment_method_id)
    now = timezone.now()
    try:
        # The row and its audit row in one statement (one round trip, no BEGIN/COMMIT of their own).
        payment_method = audit_with(
            _INSERT.statement(
                id=payment_method_id,
                merchant=merchant,
                profile=profile,
                customer=customer,
                payment_method_type="card",
                payment_method_subtype=data.get("payment_method_subtype") or card.get("card_type"),
                storage_type=data["storage_type"],
                expires_at=None if persistent else now + timedelta(seconds=settings.VAULT_VOLATILE_TTL),
                card_isin=secret.isin,
                last4_digits=secret.last4,
                expiry_month=card["card_exp_month"],
                expiry_year=card["card_exp_year"],
                card_holder_name=card.get("card_holder_name"),
                nick_name=card.get("nick_name"),
                card_network=card.get("card_network") or secret.network,
                card_issuer=card.get("card_issuer"),
                card_type=card.get("card_type"),
                issuer_country=card.get("card_issuing_country"),
                **sealed.columns(),
                **_cvc_columns(card.get("card_cvc"), merchant_id=merchant.id, record_id=payment_method_id),
                card_fingerprint=fingerprint,
                billing=data.get("billing"),
                metadata=data.get("metadata"),
                created=now,
                last_used_at=now,
                **(network_token_fields(token) if token else {}),
            ),
            actor=actor,
            action=AuditAction.PAYMENT_METHOD_CREATE,
            object_type="payment_method",
            object_id=payment_method_id,
            merchant_id=merchant.id,
            details={
                "storage_type": data["storage_type"],
                "network_token": token is not None,
                "cvc_stored": "card_cvc" in card,
            },
        )
    except IntegrityError:
        # A concurrent create of the same card for the same customer won the race: answer its row.
        existing = payment_method_duplicate(customer=customer, fingerprints=fingerprints) if customer else None
        # The token service answers one reference with one token: the winner may hold this very token.
        if token is not None and (existing is None or existing.network_token_ref != token.state.token_ref):
            network_token_discard(token)
        if existing is None:
            raise
        return _revault(actor=actor, payment_method=existing, card=card, secret=card["card_number"])
    return payment_method


@sensitive_variables("secret")
def _revault(
    *,
    actor: Actor,
    payment_method: PaymentMethod,
    card: dict[str, Any],
    secret: CardSecret,
    token: ProvisionedToken | None = None,
) -> PaymentMethod:
    """Answer a card vaulted again: a new expiry replaces the stored one; an inactive one is active
    again; a network token provisioned for it now is sealed in with the card."""
    with transaction.atomic():
        payment_method = (
            PaymentMethod.objects.for_merchant(payment_method.merchant_id).select_for_update().get(pk=payment_method.pk)
        )
        changed = []
        if token is not None and not holds_network_token(payment_method):
            sealed = crypto.seal(
                token.sealable_with(secret), merchant_id=payment_method.merchant_id, record_id=payment_method.id
            )
            fields = {**sealed.columns(), **network_token_fields(token)}
            for field, value in fields.items():
                setattr(payment_method, field, value)
            changed += list(fields)
        elif token is not None and token.state.token_ref != payment_method.network_token_ref:
            network_token_discard(token)  # a concurrent request attached another one first
        if (payment_method.expiry_month, payment_method.expiry_year) != (card["card_exp_month"], card["card_exp_year"]):
            payment_method.expiry_month, payment_method.expiry_year = card["card_exp_month"], card["card_exp_year"]
            changed += ["expiry_month", "expiry_year"]
        if payment_method.status == PaymentMethod.Status.INACTIVE:
            payment_method.status = PaymentMethod.Status.ACTIVE
            changed.append("status")
        cvc = _cvc_columns(card.get("card_cvc"), merchant_id=payment_method.merchant_id, record_id=payment_method.id)
        for field, value in cvc.items():
            setattr(payment_method, field, value)
        changed += list(cvc)
        if changed:
            payment_method.save(update_fields=[*changed, "updated_at"])
        _audit(
            actor, AuditAction.PAYMENT_METHOD_CREATE, payment_method, details={"duplicate": True, "changed": changed}
        )
    return payment_method


@sensitive_variables("secret")
def payment_method_reveal(
    *, actor: Actor, merchant: Merchant, payment_method_id: str, allowed: bool
) -> tuple[PaymentMethod, CardSecret | None]:
    """Decrypt a card for a caller with the reveal scope. Every attempt is audited; no audit, no card.

    A caller without the scope gets the payment method and no card (None), as upstream answers a
    merchant not configured for raw data; the attempt is audited as denied.
    """
    payment_method = payment_method_get(merchant=merchant, payment_method_id=payment_method_id)
    if not allowed:
        _audit_reveal(actor, payment_method, AuditEvent.Outcome.DENIED)
        return payment_method, None
    secret = open_card(actor=actor, action=AuditAction.PAYMENT_METHOD_REVEAL, payment_method=payment_method)
    _audit_reveal(actor, payment_method, AuditEvent.Outcome.SUCCESS)
    return payment_method, secret


def _audit_reveal(actor: Actor, payment_method: PaymentMethod, outcome: str) -> None:
    # A reveal writes nothing but its audit row: one statement, no transaction to begin and commit.
    audit_alone(
        actor=actor,
        action=AuditAction.PAYMENT_METHOD_REVEAL,
        object_type="payment_method",
        object_id=payment_method.id,
        merchant_id=payment_method.merchant_id,
        outcome=outcome,
    )


def payment_method_update(
    *, actor: Actor, merchant: Merchant, payment_method_id: str, data: dict[str, Any]
) -> PaymentMethod:
    """Change the holder name, nickname, network transaction id, a processor's token or the
    acknowledgement of a payment method."""
    with transaction.atomic():
        payment_method = payment_method_lookup(merchant=merchant, payment_method_id=payment_method_id, for_update=True)
        if payment_method.status == PaymentMethod.Status.REDACTED:
            raise errors.UnprocessableRequest("Redacted Payment Method cannot be updated")
        changes = dict(data.get("payment_method_data", {}).get("card", {}))
        changes |= _cvc_columns(changes.pop("card_cvc", None), merchant_id=merchant.id, record_id=payment_method.id)
        if "network_transaction_id" in data:
            changes["network_transaction_id"] = data["network_transaction_id"]
        if data.get("connector_token_details"):
            changes["connector_tokens"] = _with_connector_token(payment_method, data["connector_token_details"])
        if "acknowledgement_status" in data:
            changes["acknowledgement_status"] = data["acknowledgement_status"]
            changes["status"] = (
                PaymentMethod.Status.ACTIVE
                if data["acknowledgement_status"] == "authenticated"
                else PaymentMethod.Status.INACTIVE
            )
        for field, value in changes.items():
            setattr(payment_method, field, value)
        # The trail names the CVC as stored, never its ciphertext's column.
        fields = sorted({"card_cvc" if field in CVC_COLUMNS else field for field in changes})
        # The change and its audit row in one statement, under the row lock taken above.
        _audit_with(
            pending_update(payment_method, [*changes, "updated_at"]),
            actor,
            AuditAction.PAYMENT_METHOD_UPDATE,
            details={"fields": fields},
        )
    return payment_method


def _with_connector_token(payment_method: PaymentMethod, details: dict[str, Any]) -> list[dict[str, Any]]:
    """The payment method's processor tokens with *details* added, or replacing that connector's."""
    tokens = [
        token for token in payment_method.connector_tokens or [] if token["connector_id"] != details["connector_id"]
    ]
    if len(tokens) >= CONNECTOR_TOKENS_MAX:
        raise errors.UnprocessableRequest(f"A payment method holds at most {CONNECTOR_TOKENS_MAX} connector tokens")
    return [*tokens, details]


CVC_COLUMNS = ("sealed_cvc", "cvc_expires_at")


@sensitive_variables("cvc")
def _cvc_columns(cvc: CvcSecret | None, *, merchant_id: str, record_id: str) -> dict[str, Any]:
    """The columns that keep *cvc* sealed for VAULT_CVC_TTL, or nothing when no CVC was sent."""
    if cvc is None:
        return {}
    sealed = crypto.seal_cvc(cvc, merchant_id=merchant_id, record_id=record_id)
    return {"sealed_cvc": sealed.value, "cvc_expires_at": timezone.now() + timedelta(seconds=settings.VAULT_CVC_TTL)}


def payment_method_take_cvc(*, merchant: Merchant, payment_method: PaymentMethod) -> CvcSecret | None:
    """The stored CVC, destroyed as it is taken: usable once. None when none is stored or it expired.
    A CVC that cannot be decrypted stays stored (the transaction rolls back) and the caller gets a 503."""
    with transaction.atomic():
        locked = payment_method_lookup(merchant=merchant, payment_method_id=payment_method.id, for_update=True)
        if not locked.sealed_cvc or locked.cvc_expires_at is None or locked.cvc_expires_at <= timezone.now():
            return None
        try:
            cvc = crypto.open_cvc(locked.sealed_cvc, merchant_id=locked.merchant_id, record_id=locked.id)
        except (crypto.DecryptionFailed, KeyProviderUnavailable) as exc:
            logger.warning("the stored CVC of %s cannot be decrypted: %s", locked.id, exc)
            raise errors.DependencyUnavailable(
                "The card data cannot be decrypted at the moment; try again later"
            ) from None
        locked.sealed_cvc, locked.cvc_expires_at = "", None
        locked.save(update_fields=[*CVC_COLUMNS, "updated_at"])
    return cvc


def cvcs_purge_expired() -> int:
    """Destroy every stored CVC past its time (`purge_expired`); answer how many."""
    expired = PaymentMethod.unscoped.filter(cvc_expires_at__lte=timezone.now())
    return expired.update(sealed_cvc="", cvc_expires_at=None)


def redact_payment_method(payment_method: PaymentMethod) -> None:
    """Destroy the card data: the ciphertext and its wrapped data key go, not just a flag. A network
    token is marked for deletion at the token service, which happens after the transaction."""
    payment_method.save(update_fields=_redacted(payment_method))


def _redacted(payment_method: PaymentMethod) -> list[str]:
    """Redact *payment_method* in memory; answer the fields to save."""
    payment_method.status = PaymentMethod.Status.REDACTED
    payment_method.sealed_card = ""
    payment_method.kek_version = ""
    payment_method.merchant_key_version = None
    payment_method.card_fingerprint = None
    payment_method.sealed_cvc, payment_method.cvc_expires_at = "", None
    payment_method.network_token_delete_pending = bool(
        payment_method.network_token_ref and payment_method.network_token_status != TOKEN_DELETED
    )
    return [
        "status", "sealed_card", "kek_version", "merchant_key_version", "card_fingerprint",
        "sealed_cvc", "cvc_expires_at", "network_token_delete_pending", "updated_at",
    ]  # fmt: skip


def payment_method_delete(*, actor: Actor, merchant: Merchant, payment_method_id: str) -> PaymentMethod:
    with transaction.atomic():
        payment_method = payment_method_lookup(merchant=merchant, payment_method_id=payment_method_id, for_update=True)
        if payment_method.status == PaymentMethod.Status.REDACTED:
            raise errors.AlreadyRedacted("Payment method has already been redacted")
        # The redaction and its audit row in one statement, under the row lock taken above.
        _audit_with(pending_update(payment_method, _redacted(payment_method)), actor, AuditAction.PAYMENT_METHOD_DELETE)
    # Its network token, if any, is now marked for deletion: the worker deletes it at the token
    # service (`run_worker`, or `purge_expired`), so the request never waits on that service.
    return payment_method


def payment_methods_delete_for_customer(*, actor: Actor, customer: Customer) -> list[PaymentMethod]:
    """Delete every payment method of a customer being redacted; run inside the customer's transaction.

    Returns those whose network token the caller must delete at the token service after committing.
    """
    payment_methods = (
        PaymentMethod.objects.for_merchant(customer.merchant_id)
        .select_for_update()
        .filter(customer=customer)
        .exclude(status=PaymentMethod.Status.REDACTED)
    )
    pending = []
    for payment_method in payment_methods:
        redact_payment_method(payment_method)
        _audit(actor, AuditAction.PAYMENT_METHOD_DELETE, payment_method, details={"reason": "customer deleted"})
        if payment_method.network_token_delete_pending:
            pending.append(payment_method)
    return pending


def payment_methods_purge_expired(*, actor: Actor, now: datetime | None = None) -> int:
    """Remove expired volatile payment methods, their ciphertext and data keys with them.

    Volatile payment methods never get a network token, so none is left behind at the token service.
    """
    now = now or timezone.now()
    with transaction.atomic():
        expired = PaymentMethod.unscoped.filter(storage_type=PaymentMethod.StorageType.VOLATILE, expires_at__lte=now)
        count = expired.count()
        if count:
            expired.delete()
            audit_record(actor=actor, action=AuditAction.PAYMENT_METHOD_PURGE_EXPIRED, details={"count": count})
    return count
