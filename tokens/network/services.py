"""Network tokens for vaulted cards: provision on create, status, token with cryptogram, lifecycle.

Provisioning is best effort, as upstream: a failure leaves the payment method without a token and is
logged (without card data) and audited. Calls to the token service never run inside a database
transaction, so a slow service holds no lock.
"""

import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
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
from tokens.models import PaymentMethod
from tokens.network.client import Cryptogram, ProvisionedToken, TokenNotFound, TokenServiceError, token_service
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


@sensitive_variables("card")
def network_token_provision(
    *, actor: Actor, merchant: Merchant, payment_method_id: str, card: CardSecret, exp_month: str, exp_year: str
) -> ProvisionedToken | None:
    """Ask the token service for a token; None (logged and audited) if it cannot give one in time."""
    service = token_service()
    reason = None
    if service is None:
        reason = "token service not configured"
    elif card.network not in SUPPORTED_NETWORKS:
        reason = "card network not supported"
    else:
        try:
            return service.provision(card, exp_month=exp_month, exp_year=exp_year, reference=payment_method_id)
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
    service = token_service()
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
    service = token_service()
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
    service = token_service()
    if not payment_method.network_token_ref or payment_method.network_token_status == TOKEN_DELETED or service is None:
        raise errors.GenericNotFound("Network token is not available for this payment method")
    secret = open_card(actor=actor, action=AuditAction.NETWORK_TOKEN_GET, payment_method=payment_method)
    try:
        cryptogram = service.cryptogram(payment_method.network_token_ref)
    except TokenServiceError:
        _audit(actor, AuditAction.NETWORK_TOKEN_GET, payment_method.id, merchant.id, outcome=AuditEvent.Outcome.FAILURE)
        raise errors.DependencyUnavailable("The token service is unavailable; try again later") from None
    _audit(actor, AuditAction.NETWORK_TOKEN_GET, payment_method.id, merchant.id)
    return IssuedNetworkToken(payment_method=payment_method, secret=secret, cryptogram=cryptogram)


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
    """The sweep: retry deleting tokens whose deletion the token service has not confirmed yet."""
    return network_tokens_delete_at_provider(list(PaymentMethod.unscoped.filter(network_token_delete_pending=True)))


def network_token_apply_event(*, event: dict[str, Any]) -> PaymentMethod:
    """Apply a lifecycle event the token service pushed (already authenticated by its signature)."""
    token_ref, status = event.get("token_ref"), event.get("status")
    if not isinstance(token_ref, str) or status not in STATUSES:
        raise errors.InvalidRequest("Event needs a token_ref and a known status")
    month, year = str(event.get("token_exp_month") or ""), str(event.get("token_exp_year") or "")
    try:
        cards.expiry(month, year)
    except cards.CardRuleError:
        if status != "EXPIRED":
            raise errors.InvalidRequest("Event carries an invalid token expiry") from None
    with transaction.atomic():
        payment_method = payment_method_by_token_ref(token_ref=token_ref, for_update=True)
        if payment_method is None:
            raise errors.NotFound("No payment method holds this token")
        changes = {"network_token_status": status, "network_token_exp_month": month, "network_token_exp_year": year}
        for field, value in changes.items():
            setattr(payment_method, field, value)
        payment_method.save(update_fields=[*changes, "updated_at"])
        _audit(
            SYSTEM_ACTOR,
            AuditAction.NETWORK_TOKEN_LIFECYCLE,
            payment_method.id,
            payment_method.merchant_id,
            details={"status": status, "event_id": str(event.get("event_id", ""))[:64]},
        )
    return payment_method
