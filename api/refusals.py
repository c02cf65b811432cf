"""Refused API requests into the audit trail, counted per key (or client address) and minute:
401, 403, and a 404 for another merchant's customer or payment method."""

import logging

from django.db import DatabaseError

from api.authentication import extract_api_key
from audit.access_failures import count_refusal
from core import errors
from core.client_address import client_address
from core.metrics import API_REFUSALS
from customers.selectors import customer_owned_by_another
from merchants.keys import parse_key_id
from tokens.selectors import payment_method_owned_by_another

logger = logging.getLogger("vault.api")


_REFUSAL_METRIC = {401: "unauthenticated", 403: "forbidden", 429: "rate_limited"}


def note_refusal(request, error: errors.VaultError, view_kwargs: dict) -> None:
    if error.status_code in _REFUSAL_METRIC:
        API_REFUSALS.labels(_REFUSAL_METRIC[error.status_code]).inc()
    if request is None:
        return
    # `_user`, not `user`: asking a DRF request for its user after authentication failed re-runs it.
    principal = getattr(request, "_user", None)
    merchant = getattr(principal, "merchant", None)
    if isinstance(error, errors.NotFound):
        if merchant is None or not _cross_merchant(merchant, view_kwargs):
            return
    elif not isinstance(error, errors.Unauthenticated | errors.ScopeMissing):
        return
    try:
        count_refusal(
            key_id=_key_id(request),
            origin=client_address(request),
            code=error.code,
            status=error.status_code,
            merchant_id=getattr(merchant, "id", ""),
        )
    except DatabaseError:
        logger.warning("a refused request could not be counted in the audit trail")


def _key_id(request) -> str | None:
    try:
        plaintext = extract_api_key(request.META)
    except errors.VaultError:
        return None
    return parse_key_id(plaintext) if plaintext else None


def _cross_merchant(merchant, view_kwargs: dict) -> bool:
    if customer_id := view_kwargs.get("customer_id"):
        return customer_owned_by_another(merchant=merchant, customer_id=customer_id)
    if payment_method_id := view_kwargs.get("payment_method_id"):
        return payment_method_owned_by_another(merchant=merchant, payment_method_id=payment_method_id)
    return False
