"""Log redaction (core/logging.py): card numbers and API keys never reach a log line or a traceback."""

import logging
import sys

from core.logging import RedactingFilter


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
