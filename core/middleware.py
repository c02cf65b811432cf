"""Request-pipeline middleware: a request id and no-store on every response, and the body limit."""

import io
import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse

from core import errors
from core.card_numbers import may_hold_card_number
from core.ids import API_KEY_PREFIX
from core.request_context import current_request_id
from core.responses import error_response

# A caller's own request id is kept only when it cannot smuggle anything into a log line.
_CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}", re.ASCII)


def _request_id(supplied: str) -> str:
    """Keep the caller's id only if it can neither inject into a log line nor carry a card number or key:
    it is echoed in the response and written to the audit trail."""
    if (
        _CLIENT_REQUEST_ID.fullmatch(supplied)
        and not supplied.startswith(API_KEY_PREFIX)
        and not may_hold_card_number(supplied)
    ):
        return supplied
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Tag each request with an id and make every response carry it and `Cache-Control: no-store`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = _request_id(request.META.get("HTTP_X_REQUEST_ID", ""))
        token = current_request_id.set(request.request_id)  # every log line below carries it
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response["X-Request-Id"] = request.request_id
        # Responses carry card data and keys: no cache, shared or private, may keep them.
        response["Cache-Control"] = "no-store"
        return response


def _read_at_most(stream, limit: int) -> bytes:
    chunks = []
    remaining = limit
    while remaining > 0:
        chunk = stream.read(remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


class BodyLimitMiddleware:
    """Refuse bodies over VAULT_MAX_BODY_BYTES with 413 JSON, whether sized or chunked."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.VAULT_MAX_BODY_BYTES
        too_large = errors.BodyTooLarge(f"Request body is larger than the limit of {limit} bytes")
        declared = request.META.get("CONTENT_LENGTH") or ""
        if declared:
            if not declared.isascii() or not declared.isdigit():
                return error_response(errors.InvalidRequest("Content-Length header is invalid"))
            if int(declared) > limit:
                return error_response(too_large)
        elif "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower() and "wsgi.input" in request.META:
            # Without Content-Length, Django would read an empty body: read it here, bounded.
            data = _read_at_most(request.META["wsgi.input"], limit + 1)
            if len(data) > limit:
                return error_response(too_large)
            request._stream = LimitedStream(io.BytesIO(data), len(data))
            request.META["CONTENT_LENGTH"] = str(len(data))
        return self.get_response(request)
