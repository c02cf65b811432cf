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
