"""Generic tokenization (upstream's /v2/tokenize): any JSON value sealed for a customer, readable
only by the proxy. Creating and deleting are audited in the same transaction as the act."""

import logging

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_record
from core import errors
from core.ids import is_global_id, new_global_id
from customers.models import Customer
from customers.selectors import customer_get
from merchants.models import Merchant
from tokens import crypto
from tokens.crypto import TokenData
from tokens.keys import KeyProviderUnavailable
from tokens.models import GenericToken

logger = logging.getLogger("vault.crypto")
NOT_FOUND = "Tokenization record does not exist in our records"


@sensitive_variables("data")
def generic_token_create(*, actor: Actor, merchant: Merchant, customer_id: str, data: TokenData) -> GenericToken:
    token_id = new_global_id("tok")
    with transaction.atomic():
        customer = customer_get(merchant=merchant, customer_id=customer_id)
        sealed = crypto.seal_token_data(data, merchant_id=merchant.id, record_id=token_id)
        token = GenericToken.objects.create(
            id=token_id,
            merchant=merchant,
            customer=customer,
            sealed_value=sealed.value,
            merchant_key_version=sealed.merchant_key_version,
        )
        _audit(actor, AuditAction.GENERIC_TOKEN_CREATE, token)
    return token


def generic_token_delete(*, actor: Actor, merchant: Merchant, token_id: str, customer_id: str) -> GenericToken:
    """Destroy the token's value and disable it; 404 unless it is this merchant's and this customer's."""
    with transaction.atomic():
        token = _enabled(merchant, token_id, for_update=True)
        if token.customer_id != customer_id:
            raise errors.NotFound(NOT_FOUND)
        _disable(token)
        _audit(actor, AuditAction.GENERIC_TOKEN_DELETE, token)
    return token


def generic_tokens_delete_for_customer(*, actor: Actor, customer: Customer) -> int:
    """Destroy every token of a customer being redacted; run inside the customer's transaction."""
    tokens = list(
        GenericToken.objects.for_merchant(customer.merchant_id)
        .select_for_update()
        .filter(customer=customer, flag=GenericToken.Flag.ENABLED)
    )
    for token in tokens:
        _disable(token)
        _audit(actor, AuditAction.GENERIC_TOKEN_DELETE, token, details={"reason": "customer deleted"})
    return len(tokens)


def generic_token_get(*, merchant: Merchant, token_id: str) -> GenericToken:
    """The merchant's enabled token; 400 for a malformed id, 404 if absent, another's or disabled."""
    return _enabled(merchant, token_id)


def generic_token_value(*, token: GenericToken) -> TokenData:
    """The token's JSON value, for the proxy alone; 503 if it cannot be decrypted now."""
    try:
        return crypto.open_token_data(token.sealed_value, merchant_id=token.merchant_id, record_id=token.id)
    except (crypto.DecryptionFailed, KeyProviderUnavailable) as exc:
        logger.warning("generic token %s cannot be decrypted: %s", token.id, exc)
        raise errors.DependencyUnavailable(
            "The token's data cannot be decrypted at the moment; try again later"
        ) from None


def _enabled(merchant: Merchant, token_id: str, *, for_update: bool = False) -> GenericToken:
    if not is_global_id(token_id):
        raise errors.InvalidRequest("Invalid tokenization id")
    queryset = GenericToken.objects.for_merchant(merchant).filter(id=token_id, flag=GenericToken.Flag.ENABLED)
    token = (queryset.select_for_update() if for_update else queryset).first()
    if token is None:
        raise errors.NotFound(NOT_FOUND)
    return token


def _disable(token: GenericToken) -> None:
    token.flag, token.sealed_value, token.merchant_key_version = GenericToken.Flag.DISABLED, "", None
    token.disabled_at = timezone.now()
    token.save(update_fields=["flag", "sealed_value", "merchant_key_version", "disabled_at"])


def _audit(actor: Actor, action: AuditAction, token: GenericToken, details: dict | None = None) -> None:
    audit_record(
        actor=actor,
        action=action,
        object_type="generic_token",
        object_id=token.id,
        merchant_id=token.merchant_id,
        details={"customer_id": token.customer_id, **(details or {})},
    )
