"""Log redaction (core/logging.py): card numbers and API keys never reach a log line or a traceback."""

import io
import json
import logging
import sys

from django.test import RequestFactory

from core.logging import RedactingFilter, VaultJsonFormatter


def test_card_numbers_and_keys_are_redacted_from_messages_and_tracebacks():
    record = logging.LogRecord(
        "t", logging.INFO, __file__, 1, "card %s key %s", ("4242 4242 4242 4242", "vlt_" + "k" * 30), None
    )
    assert RedactingFilter().filter(record)
    message = record.getMessage()
    assert "4242 4242" not in message and "vlt_k" not in message
    assert "[REDACTED CARD NUMBER]" in message and "[REDACTED API KEY]" in message
    try:
        raise ValueError("boom " + "4242" * 4)
    except ValueError:
        failing = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    RedactingFilter().filter(failing)
    assert "4242424242424242" not in failing.exc_text and "[REDACTED CARD NUMBER]" in failing.exc_text


def _json_lines(emit) -> list[dict]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(VaultJsonFormatter())
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("vault.test_json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        emit(logger)
    finally:
        logger.removeHandler(handler)
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_the_json_formatter_redacts_tracebacks_it_formats_itself():
    def emit(logger):
        try:
            raise ValueError("card 4111111111111111 refused")
        except ValueError:
            logger.exception("failed")

    (line,) = _json_lines(emit)
    assert "4111111111111111" not in json.dumps(line)
    assert "ValueError: card [REDACTED CARD NUMBER] refused" in line["exc_info"]


def test_the_json_formatter_writes_a_request_without_its_query_and_redacts_extra_fields():
    request = RequestFactory().get("/payment_methods/01_pm_x?fetch_raw_detail=true")

    def emit(logger):
        logger.error("Service Unavailable", extra={"request": request, "note": "4111 1111 1111 1111"})

    (line,) = _json_lines(emit)
    assert line["request"] == "GET /payment_methods/01_pm_x"
    assert line["note"] == "[REDACTED CARD NUMBER]"
    assert "fetch_raw_detail" not in json.dumps(line)


def test_percent_encoded_keys_and_card_numbers_are_redacted():
    from core.logging import CARD_MARK, KEY_MARK, redact

    key = "vlt_abcdefgh12345678_" + "s" * 43
    assert KEY_MARK in redact(f"GET /customers/{key.replace('_', '%5F')}")
    assert CARD_MARK in redact("GET /x?n=4111%201111%201111%201111")
    assert CARD_MARK in redact("GET /x?n=4111+1111+1111+1111")
    assert redact("100% sure, 2+2") == "100% sure, 2+2"  # nothing to mask: the text is left as it was


def test_a_made_up_host_is_one_warning_a_minute_without_a_traceback():
    from core.logging import DisallowedHostFilter

    host_filter = DisallowedHostFilter()

    def record(host: str) -> logging.LogRecord:
        try:
            raise ValueError("boom")
        except ValueError:
            exc_info = sys.exc_info()
        message = f"Invalid HTTP_HOST header: '{host}'. You may need to add '{host}' to ALLOWED_HOSTS."
        return logging.LogRecord("django.security.DisallowedHost", logging.ERROR, __file__, 1, message, (), exc_info)

    first = record("evil.example")
    assert host_filter.filter(first)
    assert first.levelname == "WARNING" and first.exc_info is None and "evil.example" in first.getMessage()
    assert not host_filter.filter(record("evil.example"))  # the same host within the minute: dropped
    assert host_filter.filter(record("other.example"))
    host_filter._last_logged["evil.example"] -= 61
    again = record("evil.example")
    assert host_filter.filter(again)
    # A second filter on the same logger (logging configured twice in one process) keeps the host.
    assert DisallowedHostFilter().filter(again) and "evil.example" in again.getMessage()


def test_a_line_written_during_a_request_carries_its_request_id():
    from core.request_context import RequestIdFilter, current_request_id

    token = current_request_id.set("req-1234567890")
    try:
        line = logging.LogRecord("tokens.network", logging.WARNING, __file__, 1, "token service down", (), None)
        RequestIdFilter().filter(line)
    finally:
        current_request_id.reset(token)
    assert line.request_id == "req-1234567890"
    outside = logging.LogRecord("x", logging.INFO, __file__, 1, "m", (), None)
    RequestIdFilter().filter(outside)
    assert not hasattr(outside, "request_id")
