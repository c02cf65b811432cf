"""The one exception handler: every failure becomes the Hyperswitch error envelope."""

import logging
import math
import re
import traceback
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import DataError, InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import set_rollback

from api.refusals import note_refusal
from core import errors
from tokens.keys import KeyProviderUnavailable

logger = logging.getLogger("vault.api")

# A field name is echoed only when it looks like a name: short, and with at most three digits, so
# neither a card number nor an API key sent as a field name comes back in an error.
_SAFE_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}", re.ASCII)
_MAX_DIGITS_IN_NAME = 3
_INDEX = re.compile(r"[0-9]{1,3}", re.ASCII)
# Validation codes that have a catalogue entry of their own, most specific first.
_CODE_PRIORITY: tuple[tuple[str, type[errors.VaultError], str], ...] = (
    ("required", errors.MissingField, "Missing required param"),
    ("invalid_expiry", errors.PreconditionFailed, "Invalid card expiry"),
    ("invalid_cvc", errors.PreconditionFailed, "Invalid card CVC"),
)


def safe_field_name(name: Any) -> str:
    text = str(name)
    if _INDEX.fullmatch(text):
        return text
    if _SAFE_FIELD_NAME.fullmatch(text) and sum(char.isdigit() for char in text) <= _MAX_DIGITS_IN_NAME:
        return text
    return "(unnamed field)"


def _flatten(detail: Any, path: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """Turn DRF's nested error detail into (dotted field path, error code) pairs."""
    if isinstance(detail, dict):
        pairs: list[tuple[str, str]] = []
        for key, value in detail.items():
            name = "body" if key == "non_field_errors" else safe_field_name(key)
            pairs.extend(_flatten(value, path if name == "body" else (*path, name)))
        return pairs
    if isinstance(detail, list):
        pairs = []
        for index, value in enumerate(detail):
            pairs.extend(_flatten(value, (*path, str(index)) if isinstance(value, dict) else path))
        return pairs
    code = getattr(detail, "code", None) or "invalid"
    return [(".".join(path) or "body", str(code))]


def validation_error(detail: Any) -> errors.VaultError:
    """Map a DRF ValidationError's detail to one catalogue entry, naming fields but never values."""
    pairs = _flatten(detail)
    fields: dict[str, str] = {}
    for field, code in pairs:
        fields.setdefault(field, code)
    for code, error_class, message in _CODE_PRIORITY:
        names = [field for field, field_code in fields.items() if field_code == code]
        if names:
            return error_class(f"{message}: {', '.join(names)}", fields=fields)
    return errors.InvalidRequest(f"Invalid value for: {', '.join(fields)}", fields=fields)


def to_vault_error(exc: Exception) -> errors.VaultError | None:
    """Return the catalogue entry for *exc*, or None when it is unexpected."""
    match exc:
        case errors.VaultError():
            return exc
        case drf.ValidationError():
            return validation_error(exc.detail)
        case drf.NotAuthenticated() | drf.AuthenticationFailed():
            return errors.Unauthenticated()
        case drf.PermissionDenied() | DjangoPermissionDenied():
            return errors.ScopeMissing()
        case drf.NotFound() | Http404():
            return errors.NotFound()
        case drf.MethodNotAllowed():
            return errors.MethodNotAllowed()
        case drf.UnsupportedMediaType():
            return errors.UnsupportedMediaType()
        case drf.ParseError():
            return errors.InvalidRequest("Request body is not valid JSON")
        case drf.Throttled():
            return errors.RateLimited(retry_after=max(1, math.ceil(exc.wait or 1)))
        case RequestDataTooBig():
            return errors.BodyTooLarge()
        case SuspiciousOperation():
            # Too many query fields, a bad Host and the like: the request's fault, not ours.
            return errors.InvalidRequest()
        case KeyProviderUnavailable():
            logger.warning("key provider unavailable")
            return errors.DependencyUnavailable()
        case OperationalError() | InterfaceError():
            logger.warning("database unavailable: %s", type(exc).__name__)
            return errors.DependencyUnavailable()
        case DataError():
            # A value the database refused: bad input that slipped past validation, not a crash.
            logger.warning("database refused a value: %s", type(exc).__name__)
            return errors.InvalidRequest()
    return None


def log_unexpected(exc: BaseException, request_id: str | None) -> None:
    """Log an unexpected failure by type and stack only: its message may hold submitted data."""
    stack = "".join(traceback.format_tb(exc.__traceback__))
    logger.error("unexpected %s (request %s)\n%s", type(exc).__name__, request_id, stack)


def handle_exception(exc: Exception, context: dict[str, Any]) -> Response:
    request = context.get("request")
    error = to_vault_error(exc)
    if error is None:
        log_unexpected(exc, getattr(request, "request_id", None))
        error = errors.InternalError()
    set_rollback()
    note_refusal(request, error, context.get("kwargs") or {})
    headers = {}
    if isinstance(error, errors.RateLimited) and "retry_after" in error.extra:
        headers["Retry-After"] = str(error.extra["retry_after"])
    if isinstance(error, errors.Unauthenticated):
        headers["WWW-Authenticate"] = "api-key"
    return Response(error.body(), status=error.status_code, headers=headers)
