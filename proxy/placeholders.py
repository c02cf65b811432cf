"""Placeholders in a proxy request, upstream's `{{$name}}`: found in the body and header values,
then replaced with the token's values. This module and the response masking are the proxy's only
readers of plaintext card data (tokens/crypto.py names them).
"""

import json
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, urlencode

from core import errors
from core.logging import redact

PLACEHOLDER = re.compile(r"\{\{\$([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\}\}", re.ASCII)
# Anything that looks like a placeholder but is not one of the form above is refused, not forwarded.
_LOOSE = re.compile(r"\{\{\s*\$", re.ASCII)

FORM = "application/x-www-form-urlencoded"


def names_in(request_body: Any, headers: dict[str, str]) -> set[str]:
    """Every placeholder name used in the body and in header values."""
    names: set[str] = set()
    for text in (*_strings(request_body), *headers.values()):
        found = PLACEHOLDER.findall(text)
        if len(found) != len(_LOOSE.findall(text)):
            raise errors.InvalidRequest("A placeholder is malformed: write it as {{$name}}")
        names.update(found)
    return names


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def refuse_unknown(names: set[str], known: Callable[[str], bool]) -> None:
    unknown = sorted(name for name in names if not known(name))
    if unknown:
        listed = ", ".join("{{$" + name + "}}" for name in unknown)
        raise errors.InvalidRequest(redact(f"Unknown placeholder for this token: {listed}"))


def substitute_headers(headers: dict[str, str], values: dict[str, str]) -> dict[str, str]:
    return {name: _fill(value, values, _header_safe) for name, value in headers.items()}


def encode_body(request_body: Any, content_type: str, values: dict[str, str]) -> bytes | None:
    """The body to send: JSON unless the caller's Content-Type says form-encoded; a string body is
    sent as it is, placeholders filled (percent-encoded when the body is form-encoded)."""
    if request_body is None:
        return None
    form = content_type.split(";", 1)[0].strip().lower() == FORM
    if isinstance(request_body, str):
        return _fill(request_body, values, _form_safe if form else str).encode()
    if form:
        if not isinstance(request_body, dict) or any(isinstance(v, dict | list) for v in request_body.values()):
            raise errors.InvalidRequest("A form-encoded request_body must be a flat object or a string")
        filled = {key: _fill(_scalar(value), values, str) for key, value in request_body.items()}
        return urlencode(filled).encode()
    filled_json = _fill_json(request_body, values)
    return json.dumps(filled_json, separators=(",", ":"), ensure_ascii=False).encode()


def _fill_json(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        return _fill(value, values, str)
    if isinstance(value, dict):
        return {key: _fill_json(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill_json(item, values) for item in value]
    return value


def _fill(text: str, values: dict[str, str], escape: Callable[[str], str]) -> str:
    return PLACEHOLDER.sub(lambda match: escape(values[match.group(1)]), text)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _form_safe(value: str) -> str:
    return quote(value, safe="")


def _header_safe(value: str) -> str:
    # HTTP header values are latin-1 on the wire: anything else (a holder's name in Łódź) cannot go.
    if any(character in value for character in "\r\n\x00") or (not value.isascii() and not _latin1(value)):
        raise errors.InvalidRequest("A placeholder's value cannot be sent in a header")
    return value


def _latin1(value: str) -> bool:
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True
