"""The proxy: forward a merchant's request to one of its approved destinations with a token's data
substituted for the placeholders, and answer what the destination said, card numbers masked.

In order, each refusal before any card data is read: the URL (400), the allowlist (403 IR_40), the
payment method (404), the placeholders (400), the address the host resolves to (403 IR_41). Then
the card is opened, the request sent once to the checked address, and one audit row written per
call: destination, method, status and latency, never a body or a header value.
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from audit.actors import Actor
from audit.models import AuditEvent
from audit.services import audit_record
from core import errors
from merchants.models import Merchant
from proxy import outbound, placeholders
from proxy.addresses import AddressRefused, ResolutionFailed, resolve_checked
from proxy.selectors import destination_active
from proxy.token_values import (
    ACTION,
    PAYMENT_METHOD_PLACEHOLDERS,
    hidden_values,
    mask_cvc_text,
    mask_document,
    mask_numbers,
    payment_method_values,
    token_document_values,
)
from proxy.urls import DestinationUrl, parse_destination_url
from tokens.generic_token_services import generic_token_get, generic_token_value
from tokens.models import PaymentMethod
from tokens.selectors import payment_method_get

PAYMENT_METHOD_ID = "payment_method_id"
VOLATILE_PAYMENT_METHOD_ID = "volatile_payment_method_id"
TOKENIZATION_ID = "tokenization_id"
# Upstream's example spells the token types in PascalCase, its schema in snake_case: both are accepted.
TOKEN_TYPES = {
    "PaymentMethodId": PAYMENT_METHOD_ID,
    "VolatilePaymentMethodId": VOLATILE_PAYMENT_METHOD_ID,
    "TokenizationId": TOKENIZATION_ID,
    PAYMENT_METHOD_ID: PAYMENT_METHOD_ID,
    VOLATILE_PAYMENT_METHOD_ID: VOLATILE_PAYMENT_METHOD_ID,
    TOKENIZATION_ID: TOKENIZATION_ID,
}
# Never forwarded from the caller: the vault sets Host and Content-Length for the request it sends.
_NOT_FORWARDED = outbound.HOP_BY_HOP | {"host", "content-length"}
_NOT_ANSWERED = outbound.HOP_BY_HOP | {"content-length", "content-encoding"}


@dataclass(frozen=True, slots=True)
class ProxyCall:
    destination_url: str
    method: str
    headers: dict[str, str]
    request_body: Any
    token: str
    token_type: str  # a key of TOKEN_TYPES


@dataclass(frozen=True, slots=True)
class ProxyAnswer:
    status_code: int
    response_headers: dict[str, str]
    response: Any


def proxy_forward(*, actor: Actor, merchant: Merchant, call: ProxyCall) -> ProxyAnswer:
    url = parse_destination_url(call.destination_url)
    token_type = TOKEN_TYPES[call.token_type]
    audit = _Audit(actor=actor, merchant=merchant, url=url, call=call, token_type=token_type)
    destination = destination_active(merchant=merchant, scheme=url.scheme, host=url.host, port=url.port)
    if destination is None or (url.scheme == "http" and not settings.DEVELOPMENT):
        audit.write(AuditEvent.Outcome.DENIED, reason="not on the allowlist" if destination is None else "http")
        raise errors.DestinationNotAllowed(
            None if destination is None else "Only https destinations are allowed outside development"
        )
    names = placeholders.names_in(call.request_body, call.headers)
    audit.object_type, audit.object_id, read_values = _token_reader(actor, merchant, call.token, token_type, names)
    try:
        address = resolve_checked(url.host, url.port)
    except AddressRefused as exc:
        audit.write(AuditEvent.Outcome.DENIED, reason=str(exc))
        raise errors.AddressNotAllowed() from None
    except ResolutionFailed as exc:
        audit.write(AuditEvent.Outcome.FAILURE, reason=str(exc))
        raise errors.DestinationFailed(f"The destination could not be reached: {exc}") from None
    values = read_values()
    started = time.monotonic()
    try:
        response = _send(call, url, destination, address, values)
    except errors.VaultError as exc:
        # The card was read (and a stored CVC taken): the call is in the trail whatever ended it.
        audit.write(AuditEvent.Outcome.FAILURE, reason=exc.message, started=started)
        raise
    audit.write(AuditEvent.Outcome.SUCCESS, status=response.status, started=started, cvc_used="card_cvc" in names)
    return _answer(response, values, hidden_values(values, generic=token_type == TOKENIZATION_ID))


def _send(
    call: ProxyCall, url: DestinationUrl, destination, address, values: dict[str, str]
) -> outbound.OutboundResponse:
    headers = {name: value for name, value in call.headers.items() if name.lower() not in _NOT_FORWARDED}
    headers = placeholders.substitute_headers(headers, values)
    content_type = next((value for name, value in headers.items() if name.lower() == "content-type"), "")
    body = placeholders.encode_body(call.request_body, content_type, values)
    if body is not None and not content_type:
        headers["Content-Type"] = "application/json"
    if body is not None and len(body) > settings.VAULT_PROXY_MAX_REQUEST_BYTES:
        raise errors.BodyTooLarge(
            f"The request to the destination is larger than {settings.VAULT_PROXY_MAX_REQUEST_BYTES} bytes"
        )
    try:
        return outbound.send(
            outbound.Destination(url.scheme, url.host, url.port, destination.ca_bundle),
            address, method=call.method, target=url.target, headers=headers, body=body,
        )  # fmt: skip
    except outbound.DestinationTimeout:
        raise errors.DestinationTimeout() from None
    except (outbound.DestinationUnreachable, outbound.ResponseTooLarge) as exc:
        raise errors.DestinationFailed(f"The destination could not be reached: {exc}") from None


def _token_reader(
    actor: Actor, merchant: Merchant, token: str, token_type: str, names: set[str]
) -> tuple[str, str, Callable[[], dict[str, str]]]:
    """The token's kind and id for the audit row, and how to read its values once the destination's
    address has passed: found (404) and checked (400) now, decrypted only then."""
    if token_type == TOKENIZATION_ID:
        generic = generic_token_get(merchant=merchant, token_id=token)
        return "generic_token", generic.id, lambda: token_document_values(generic_token_value(token=generic), names)
    payment_method = _payment_method(merchant, token, token_type)
    placeholders.refuse_unknown(names, PAYMENT_METHOD_PLACEHOLDERS.__contains__)
    return (
        "payment_method",
        payment_method.id,
        lambda: payment_method_values(actor=actor, merchant=merchant, payment_method=payment_method, names=names),
    )


def _payment_method(merchant: Merchant, token: str, token_type: str) -> PaymentMethod:
    payment_method = payment_method_get(merchant=merchant, payment_method_id=token)
    volatile = payment_method.storage_type == PaymentMethod.StorageType.VOLATILE
    if volatile != (token_type == VOLATILE_PAYMENT_METHOD_ID):
        raise errors.UnprocessableEntity(
            f"token_type does not match the payment method's storage type ({'volatile' if volatile else 'persistent'})"
        )
    return payment_method


def _answer(response: outbound.OutboundResponse, values: dict[str, str], hidden: list[str]) -> ProxyAnswer:
    headers: dict[str, str] = {}
    for name, value in response.headers:
        if name.lower() not in _NOT_ANSWERED:
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
    headers = {name: mask_cvc_text(mask_numbers(value, hidden), values) for name, value in headers.items()}
    text = mask_numbers(response.body.decode("utf-8", errors="replace"), hidden)
    try:
        body: Any = mask_document(json.loads(text), values, hidden) if text else None
    except ValueError:
        body = mask_cvc_text(text, values)
    return ProxyAnswer(status_code=response.status, response_headers=headers, response=body)


@dataclass
class _Audit:
    """The one audit row of a proxy call: where it went and how it ended, never what it carried."""

    actor: Actor
    merchant: Merchant
    url: DestinationUrl
    call: ProxyCall
    token_type: str
    object_type: str = "payment_method"
    object_id: str = ""

    def write(
        self,
        outcome: str,
        *,
        status: int | None = None,
        started: float | None = None,
        reason: str = "",
        cvc_used: bool = False,
    ) -> None:
        details: dict[str, Any] = {
            "destination": self.url.origin,
            "method": self.call.method,
            "token_type": self.token_type,
        }
        if status is not None:
            details["status"] = status
        if started is not None:
            details["latency_ms"] = round((time.monotonic() - started) * 1000, 1)
        if reason:
            details["reason"] = reason
        if cvc_used:
            details["cvc_used"] = True
        with transaction.atomic():
            audit_record(
                actor=self.actor,
                action=ACTION,
                object_type=self.object_type,
                object_id=self.object_id,  # empty until the token is known to be this merchant's
                merchant_id=self.merchant.id,
                outcome=outcome,
                details=details,
            )
