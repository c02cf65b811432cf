"""Strict JSON decoding, for the API's parser and the token-service webhook alike.

Stock parsing lets through what a vault must refuse: a 5,000-deep document (RecursionError, then
a 500), NUL characters (PostgreSQL then fails on insert), duplicate keys (the last silently wins),
invalid UTF-8, and the non-standard NaN and Infinity constants.
"""

import json
import math
from typing import Any

from django.conf import settings

from core.errors import InvalidRequest


class DuplicateKey(ValueError):
    pass


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKey
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def json_depth(text: str) -> int:
    """Return the deepest nesting of arrays and objects in *text*, ignoring brackets in strings."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _unstorable_text(value: Any) -> bool:
    """Tell whether a decoded document holds text no database or encoder takes: NUL or a lone surrogate."""
    if isinstance(value, str):
        return "\x00" in value or (not value.isascii() and _has_surrogate(value))
    if isinstance(value, dict):
        return any(_unstorable_text(key) or _unstorable_text(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_unstorable_text(item) for item in value)
    return False


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def parse_strict_json(raw: bytes) -> Any:
    """Decode *raw* as one strict JSON document or raise InvalidRequest with a fixed message."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest("Request body is not valid UTF-8") from None
    if json_depth(text) > settings.VAULT_MAX_JSON_DEPTH:
        raise InvalidRequest(f"Request body is nested deeper than {settings.VAULT_MAX_JSON_DEPTH} levels")
    try:
        value = json.loads(
            text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant, parse_float=_finite_float
        )
    except DuplicateKey:
        raise InvalidRequest("Request body repeats a key within one object") from None
    except (ValueError, RecursionError):
        raise InvalidRequest("Request body is not valid JSON") from None
    if _unstorable_text(value):
        raise InvalidRequest("Request body contains a NUL character or an unpaired surrogate escape")
    return value
