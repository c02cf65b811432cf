"""Log redaction: the second line of defence. Code must not log card numbers or keys in the first
place; this filter masks any that slip into a message, its arguments or a traceback anyway."""

import logging
import re
import threading
import time
from urllib.parse import unquote_plus

from pythonjsonlogger.json import JsonFormatter

from core.card_numbers import LONG_DIGIT_RUN, may_hold_card_number
from core.client_address import client_address
from core.ids import API_KEY_PREFIX
from core.metrics import HTTP_LATENCY, HTTP_REQUESTS

_API_KEY = re.compile(rf"{API_KEY_PREFIX}[A-Za-z0-9_-]+", re.ASCII)
CARD_MARK = "[REDACTED CARD NUMBER]"
KEY_MARK = "[REDACTED API KEY]"


def _redact_plain(text: str) -> str:
    text = _API_KEY.sub(KEY_MARK, text)
    # Generous on purpose: masking a number that was not a card costs a log line nothing.
    return LONG_DIGIT_RUN.sub(lambda match: CARD_MARK if may_hold_card_number(match.group()) else match.group(), text)


def redact(text: str) -> str:
    """Mask card numbers and API keys, percent-encoded ones too (`vlt%5F…`, `4111%20…` in a logged
    URL): when the decoded text needed masking, the masked decoded text is what gets logged."""
    if "%" in text or "+" in text:
        decoded = unquote_plus(text, errors="replace")
        if decoded != text:
            masked = _redact_plain(decoded)
            if masked != decoded:
                return masked
    return _redact_plain(text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class VaultJsonFormatter(JsonFormatter):
    """One JSON object per line: time, level, logger, message and any structured fields.

    python-json-logger formats tracebacks itself (from exc_info, not the filter's exc_text) and writes
    every `extra` field: both are redacted here, and a request is written as its method and path,
    never with its query string.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"})
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s", *args, **kwargs)

    def formatException(self, ei) -> str:
        return redact(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return redact(super().formatStack(stack_info))

    def add_fields(self, log_record, record, message_dict) -> None:
        super().add_fields(log_record, record, message_dict)
        request = log_record.get("request")
        if request is not None and hasattr(request, "path"):
            log_record["request"] = f"{getattr(request, 'method', '')} {request.path}".strip()
        for name, value in log_record.items():
            if isinstance(value, str):
                log_record[name] = redact(value)


_DISALLOWED_HOST = re.compile(r"Invalid HTTP_HOST header: '([^']{0,300})'")


class DisallowedHostFilter(logging.Filter):
    """Django logs a request for a host the vault does not serve as an ERROR with a traceback, which
    any client can trigger at will: rewrite it to one WARNING line, at most once a minute per host."""

    interval_seconds = 60.0
    max_hosts = 1000  # bounded memory whatever hosts a client makes up

    def __init__(self) -> None:
        super().__init__()
        self._last_logged: dict[str, float] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "disallowed_host", None) is not None:
            # Already rewritten: django.setup() run twice in one process (gunicorn's master checks the
            # keyring, then a worker loads the app) configures logging twice, and logger filters add up.
            return True
        match = _DISALLOWED_HOST.search(record.getMessage())
        host = (match.group(1) if match else "?")[:100]
        now = time.monotonic()
        with self._lock:
            last = self._last_logged.get(host)
            if last is not None and now - last < self.interval_seconds:
                return False
            if len(self._last_logged) >= self.max_hosts:
                self._last_logged.clear()
            self._last_logged[host] = now
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        record.msg = "request for a host this vault does not serve: %r (shown once a minute)"
        record.args = (host,)
        record.disallowed_host = host
        return True


access_logger = logging.getLogger("vault.access")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class AccessLogMiddleware:
    """Log one line per request: request id, merchant, route, method, status, latency. Never a body,
    never a query string (it may carry what a client should not have sent)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        match = getattr(request, "resolver_match", None)
        route = match.route if match else "(unmatched)"
        method = request.method if request.method in _METHODS else "other"  # a client invents methods
        HTTP_REQUESTS.labels(route, method, str(response.status_code)).inc()
        HTTP_LATENCY.labels(route).observe(elapsed)
        principal = getattr(request, "user", None)
        merchant = getattr(getattr(principal, "merchant", None), "id", None)
        access_logger.info(
            "%s %s %s",
            request.method,
            match.route if match else "(unmatched)",
            response.status_code,
            extra={
                "request_id": getattr(request, "request_id", None),
                "client": client_address(request),
                "merchant": merchant,
                "route": match.route if match else None,
                "method": request.method,
                "status": response.status_code,
                "latency_ms": round(elapsed * 1000, 2),
            },
        )
        return response
