"""Log redaction: the second line of defence. Code must not log card numbers or keys in the first
place; this filter masks any that slip into a message, its arguments or a traceback anyway."""

import logging
import re
import time

from pythonjsonlogger.json import JsonFormatter

from core.card_numbers import LONG_DIGIT_RUN, may_hold_card_number
from core.ids import API_KEY_PREFIX

_API_KEY = re.compile(rf"{API_KEY_PREFIX}[A-Za-z0-9_-]+", re.ASCII)
CARD_MARK = "[REDACTED CARD NUMBER]"
KEY_MARK = "[REDACTED API KEY]"


def redact(text: str) -> str:
    text = _API_KEY.sub(KEY_MARK, text)
    # Generous on purpose: masking a number that was not a card costs a log line nothing.
    return LONG_DIGIT_RUN.sub(lambda match: CARD_MARK if may_hold_card_number(match.group()) else match.group(), text)


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


access_logger = logging.getLogger("vault.access")


class AccessLogMiddleware:
    """Log one line per request: request id, merchant, route, method, status, latency. Never a body,
    never a query string (it may carry what a client should not have sent)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        principal = getattr(request, "user", None)
        merchant = getattr(getattr(principal, "merchant", None), "id", None)
        access_logger.info(
            "%s %s %s",
            request.method,
            match.route if match else "(unmatched)",
            response.status_code,
            extra={
                "request_id": getattr(request, "request_id", None),
                "merchant": merchant,
                "route": match.route if match else None,
                "method": request.method,
                "status": response.status_code,
                "latency_ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )
        return response
