"""Network tokens for vaulted cards: provision on create, status, token with cryptogram, lifecycle.

Provisioning is best effort, as upstream: a failure leaves the payment method without a token and is
logged (without card data) and audited. Calls to the token service never run inside a database
transaction, so a slow service holds no lock.
"""

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.debug import sensitive_variables

from audit.actions import AuditAction
from audit.actors import Actor
from audit.models import AuditEvent
from audit.services import audit_record
from core import errors
from core.card_numbers import detect_network
from merchants.models import Merchant, Profile
from tokens import cards
from tokens.card_access import open_card
from tokens.crypto import CardSecret
from tokens.models import PaymentMethod, TokenLifecycleEvent
from tokens.network.client import (
    Cryptogram,
    ProvisionedToken,
    TokenNotActive,
    TokenNotFound,
    TokenServiceError,
    token_service,
)
from tokens.network.protocol import STATUSES, TOKEN_DELETED
from tokens.selectors import payment_method_by_token_ref, payment_method_get, payment_method_lookup

logger = logging.getLogger("vault.network_tokens")

# The networks whose token services the vault's protocol covers.
SUPPORTED_NETWORKS = frozenset({"Visa", "Mastercard", "AmericanExpress", "Discover"})
SYSTEM_ACTOR = Actor(kind=AuditEvent.ActorKind.SYSTEM, id="token_service")


def _audit(actor: Actor, action: AuditAction, payment_method_id: str, merchant_id: str, **kwargs: Any) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=action,
            object_type="payment_method",
            object_id=payment_method_id,
            merchant_id=merchant_id,
            **kwargs,
        )


def holds_network_token(payment_method: PaymentMethod) -> bool:
    return bool(payment_method.network_token_ref) and payment_method.network_token_status != TOKEN_DELETED


@sensitive_variables("card")
def network_token_provision(
    *,
    actor: Actor,
    merchant: Merchant,
    payment_method_id: str,
    card: CardSecret,
    exp_month: str,
    exp_year: str,
    reference: str,
) -> ProvisionedToken | None:
    """Ask the token service for a token; None (logged and audited) if it cannot give one in time."""
    service = token_service(retries=0)  # in a request: one attempt
    reason = None
    if service is None:
        reason = "token service not configured"
    elif card.network not in SUPPORTED_NETWORKS:
        reason = "card network not supported"
    else:
        try:
            return service.provision(card, exp_month=exp_month, exp_year=exp_year, reference=reference)
        except TokenServiceError as exc:
            reason = str(exc)
    logger.warning("network token not provisioned for %s: %s", payment_method_id, reason)
    _audit(actor, AuditAction.NETWORK_TOKEN_PROVISION, payment_method_id, merchant.id,
           outcome=AuditEvent.Outcome.FAILURE, details={"reason": reason})  # fmt: skip
    return None


def network_token_fields(token: ProvisionedToken) -> dict[str, Any]:
    """The columns a provisioned token fills on its payment method."""
    return {
        "network_token_ref": token.state.token_ref,
        "network_token_status": token.state.status,
        "network_token_exp_month": token.state.token_exp_month,
        "network_token_exp_year": token.state.token_exp_year,
        "network_token_isin": token.isin,
        "network_token_last4": token.last4,
        "network_token_par": token.state.par,
    }


def network_token_discard(token: ProvisionedToken) -> None:
    """Delete a token that no payment method will hold (a create lost a race)."""
    service = token_service(retries=0)  # in a request: one attempt
    if service is not None:
        try:
            service.delete(token.state.token_ref)
        except TokenServiceError:
            logger.warning("could not delete unused network token %s", token.state.token_ref)


def network_token_status(*, merchant: Merchant, payment_method_id: str) -> dict[str, Any]:
    """The token's status from the token service, in upstream's success/failure union."""
    payment_method = payment_method_lookup(merchant=merchant, payment_method_id=payment_method_id)
    if payment_method.status == PaymentMethod.Status.REDACTED:
        raise errors.NotFound("Payment method does not exist in our records")
    if payment_method.status != PaymentMethod.Status.ACTIVE:
        return {"type": "failure_response", "error_message": "Payment Method is not active"}
    if not payment_method.network_token_ref:
        raise errors.InvalidValue("Invalid value provided: payment_method_id")
    service = token_service(retries=0)  # in a request: one attempt
    if service is None:
        return {"type": "failure_response", "error_message": "Network tokenization is not configured"}
    try:
        state = service.status(payment_method.network_token_ref)
    except TokenServiceError:
        return {"type": "failure_response", "error_message": "The token service is unavailable"}
    _record_state(payment_method, state.status, state.token_exp_month, state.token_exp_year)
    return {
        "type": "success_response",
        "status": state.status if state.status in STATUSES else "INACTIVE",
        "token_expiry_month": state.token_exp_month,
        "token_expiry_year": state.token_exp_year,
        "card_last_four": payment_method.last4_digits,
        "token_last_four": state.token_last4,
        "card_expiry_month": payment_method.expiry_month,
        "card_expiry_year": payment_method.expiry_year,
        "payment_method_id": payment_method.id,
        "customer_id": payment_method.customer_id,
    }


def _record_state(payment_method: PaymentMethod, status: str, exp_month: str, exp_year: str) -> None:
    new = {"network_token_status": status, "network_token_exp_month": exp_month, "network_token_exp_year": exp_year}
    if any(getattr(payment_method, field) != value for field, value in new.items()):
        PaymentMethod.objects.for_merchant(payment_method.merchant_id).filter(pk=payment_method.pk).update(**new)
        for field, value in new.items():
            setattr(payment_method, field, value)


@dataclass(frozen=True, slots=True)
class IssuedNetworkToken:
    """A network token handed to a caller: the payment method, its secret (the token number stays
    inside it) and a fresh cryptogram. The API renders it; nothing here reads the number."""

    payment_method: PaymentMethod
    secret: CardSecret
    cryptogram: Cryptogram


# Statuses in which a token exists but gives no cryptogram until the token service changes it.
UNUSABLE_STATUSES = ("SUSPENDED", "EXPIRED")


def _not_active(
    actor: Actor, payment_method: PaymentMethod, status: str, action: AuditAction = AuditAction.NETWORK_TOKEN_GET
) -> errors.VaultError:
    """422 IR_29 naming the token's state: a client must not retry until the token changes."""
    _audit(actor, action, payment_method.id, payment_method.merchant_id,
           outcome=AuditEvent.Outcome.FAILURE, details={"reason": f"token {status.lower()}"})  # fmt: skip
    return errors.UnprocessableEntity(
        f"The network token is {status.lower()}; it gives no cryptogram until it is active"
    )


@sensitive_variables("secret")
def network_token_get(
    *, actor: Actor, merchant: Merchant, profile: Profile, payment_method_id: str, token_type: str, allowed: bool
) -> "IssuedNetworkToken":
    """The token number, its expiry and a fresh cryptogram, for keys with the reveal scope; audited."""
    payment_method = payment_method_get(merchant=merchant, payment_method_id=payment_method_id)
    if not allowed:
        _audit(actor, AuditAction.NETWORK_TOKEN_GET, payment_method.id, merchant.id, outcome=AuditEvent.Outcome.DENIED)
        raise errors.ScopeMissing("Access forbidden: network tokens need the payment_methods:reveal scope")
    if token_type != "network_token":
        raise errors.UnprocessableEntity("Token type not supported")
    if not profile.network_tokenization_enabled:
        raise errors.UnprocessableEntity("Network tokenization is not enabled for this profile")
    secret, cryptogram = network_token_with_cryptogram(
        actor=actor, payment_method=payment_method, action=AuditAction.NETWORK_TOKEN_GET
    )
    _audit(actor, AuditAction.NETWORK_TOKEN_GET, payment_method.id, merchant.id)
    return IssuedNetworkToken(payment_method=payment_method, secret=secret, cryptogram=cryptogram)


@sensitive_variables("secret")
def network_token_with_cryptogram(
    *, actor: Actor, payment_method: PaymentMethod, action: AuditAction
) -> tuple[CardSecret, Cryptogram]:
    """The card (holding its token's number) and a fresh cryptogram, for *action* (get-token, the
    proxy); a token that is missing, deleted or not active, or a token service that is down, is a
    catalogue error, audited under *action* where the attempt got as far as the token service."""
    service = token_service(retries=0)  # in a request: one attempt
    if not payment_method.network_token_ref or payment_method.network_token_status == TOKEN_DELETED or service is None:
        raise errors.GenericNotFound("Network token is not available for this payment method")
    if payment_method.network_token_status in UNUSABLE_STATUSES:
        raise _not_active(actor, payment_method, payment_method.network_token_status, action)
    secret = open_card(actor=actor, action=action, payment_method=payment_method)
    try:
        cryptogram = service.cryptogram(payment_method.network_token_ref)
    except TokenNotActive:
        # The service knows better than the vault's copy of the status: a webhook may still be on its way.
        raise _not_active(actor, payment_method, "not active at the token service", action) from None
    except TokenServiceError:
        _audit(actor, action, payment_method.id, payment_method.merchant_id, outcome=AuditEvent.Outcome.FAILURE)
        raise errors.DependencyUnavailable("The token service is unavailable; try again later") from None
    return secret, cryptogram


def network_token_eligible(*, profile: Profile, card_bin: str) -> bool:
    if not profile.network_tokenization_enabled:
        raise errors.NotSupported(reason="network tokenization is not enabled for this profile")
    return token_service() is not None and detect_network(card_bin) in SUPPORTED_NETWORKS


def network_tokens_delete_at_provider(payment_methods: list[PaymentMethod]) -> int:
    """Delete at the token service the tokens of deleted payment methods; return how many were confirmed."""
    service = token_service()
    if service is None:
        return 0
    confirmed = 0
    for payment_method in payment_methods:
        if not payment_method.network_token_ref:
            continue
        try:
            service.delete(payment_method.network_token_ref)
        except TokenNotFound:
            pass
        except TokenServiceError:
            logger.warning("network token deletion for %s will be retried", payment_method.id)
            continue
        PaymentMethod.objects.for_merchant(payment_method.merchant_id).filter(pk=payment_method.pk).update(
            network_token_delete_pending=False, network_token_status=TOKEN_DELETED
        )
        _audit(SYSTEM_ACTOR, AuditAction.NETWORK_TOKEN_DELETE, payment_method.id, payment_method.merchant_id)
        confirmed += 1
    return confirmed


def network_tokens_retry_deletes() -> int:
    """The sweep (`run_worker`, `purge_expired`): delete at the token service the tokens of deleted
    payment methods, which requests only mark, and retry those it has not confirmed yet."""
    return network_tokens_delete_at_provider(list(PaymentMethod.unscoped.filter(network_token_delete_pending=True)))


_EVENT_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}", re.ASCII)


@dataclass(frozen=True, slots=True)
class LifecycleEvent:
    event_id: str
    token_ref: str
    status: str
    exp_month: str
    exp_year: str
    occurred_at: datetime


def _lifecycle_event(event: dict[str, Any]) -> LifecycleEvent:
    """The event's fields, checked: a malformed event is 400 and changes nothing."""
    event_id, token_ref, status = event.get("event_id"), event.get("token_ref"), event.get("status")
    if not isinstance(event_id, str) or not _EVENT_ID.fullmatch(event_id):
        raise errors.InvalidRequest("Event needs an event_id of 1-64 letters, digits or _.:-")
    if not isinstance(token_ref, str) or not 1 <= len(token_ref) <= 64 or status not in STATUSES:
        raise errors.InvalidRequest("Event needs a token_ref and a known status")
    occurred_raw = event.get("occurred_at")
    occurred_at = parse_datetime(occurred_raw) if isinstance(occurred_raw, str) and len(occurred_raw) <= 40 else None
    if occurred_at is None or occurred_at.tzinfo is None:
        raise errors.InvalidRequest("Event needs occurred_at as an ISO 8601 time with its offset")
    month, year = str(event.get("token_exp_month") or ""), str(event.get("token_exp_year") or "")
    try:
        cards.expiry(month, year)
    except cards.CardRuleError:
        # Only an expiry event may carry a date in the past; a reissue must carry a valid one.
        if status != "EXPIRED" or len(month) > 2 or len(year) > 4:
            raise errors.InvalidRequest("Event carries an invalid token expiry") from None
    return LifecycleEvent(event_id, token_ref, status, month, year, occurred_at)


def _ignore_reason(payment_method: PaymentMethod, event: LifecycleEvent) -> str | None:
    if payment_method.network_token_status == TOKEN_DELETED:
        return "the token is deleted"  # DELETED is terminal
    if payment_method.network_token_event_at and event.occurred_at < payment_method.network_token_event_at:
        return "older than the last event applied"
    return None


def network_token_apply_event(*, event: dict[str, Any]) -> str:
    """Apply a lifecycle event the token service pushed (already authenticated by its signature).

    Answers "applied", "ignored" (an older event arriving late, or one after the token's deletion;
    audited as such) or "replayed" (an event id already received: nothing changes).
    """
    parsed = _lifecycle_event(event)
    with transaction.atomic():
        # The payment method's lock orders every event of one token, replays included.
        payment_method = payment_method_by_token_ref(token_ref=parsed.token_ref, for_update=True)
        if payment_method is None:
            raise errors.NotFound("No payment method holds this token")
        if TokenLifecycleEvent.objects.filter(pk=parsed.event_id).exists():
            return "replayed"
        ignored = _ignore_reason(payment_method, parsed)
        if ignored is None:
            changes = {
                "network_token_status": parsed.status,
                "network_token_exp_month": parsed.exp_month,
                "network_token_exp_year": parsed.exp_year,
                "network_token_event_at": parsed.occurred_at,
            }
            for field, value in changes.items():
                setattr(payment_method, field, value)
            payment_method.save(update_fields=[*changes, "updated_at"])
        outcome = TokenLifecycleEvent.Outcome.IGNORED if ignored else TokenLifecycleEvent.Outcome.APPLIED
        TokenLifecycleEvent.objects.create(
            event_id=parsed.event_id,
            token_ref=parsed.token_ref,
            status=parsed.status,
            occurred_at=parsed.occurred_at,
            outcome=outcome,
        )
        details = {"status": parsed.status, "event_id": parsed.event_id, **({"ignored": ignored} if ignored else {})}
        _audit(SYSTEM_ACTOR, AuditAction.NETWORK_TOKEN_LIFECYCLE, payment_method.id, payment_method.merchant_id,
               details=details)  # fmt: skip
    return outcome


def network_token_events_purge(*, now: datetime | None = None) -> int:
    """Forget received event ids older than the retention; a replay that old fails its signature anyway."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.VAULT_NT_EVENT_RETENTION_DAYS)
    deleted, _ = TokenLifecycleEvent.objects.filter(received_at__lt=cutoff).delete()
    return deleted


@dataclass(frozen=True, slots=True)
class Reconciliation:
    checked: int
    unknown: int
    deleted: int


RECONCILE_PAGE = 200


def network_tokens_reconcile(*, actor: Actor, dry_run: bool = False) -> Reconciliation:
    """Delete at the token service the live tokens no payment method holds, page by page; audited.

    A token a card holds, even a deleted card whose token deletion is pending, is left alone: the
    worker deletes those.
    """
    service = token_service()
    if service is None:
        return Reconciliation(0, 0, 0)
    checked = unknown = deleted = 0
    after = ""
    while page := service.list_tokens(after=after, limit=RECONCILE_PAGE):
        after = str(page[-1]["token_ref"])
        checked += len(page)
        live = {str(t["token_ref"]) for t in page if t.get("status") != TOKEN_DELETED}
        known = set(
            PaymentMethod.unscoped.filter(network_token_ref__in=live).values_list("network_token_ref", flat=True)
        )
        for token_ref in sorted(live - known):
            unknown += 1
            if dry_run:
                continue
            try:
                service.delete(token_ref)
            except TokenServiceError:
                logger.warning("unknown network token %s could not be deleted; the next run tries again", token_ref)
                continue
            deleted += 1
            with transaction.atomic():
                audit_record(
                    actor=actor,
                    action=AuditAction.NETWORK_TOKEN_DELETE,
                    object_type="network_token",
                    object_id=token_ref,
                    details={"reason": "held by no payment method"},
                )
    return Reconciliation(checked, unknown, deleted)
