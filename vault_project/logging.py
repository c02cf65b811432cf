"""Log redaction: the second line of defence. Code must not log card numbers or keys in the first
place; this filter masks any that slip into a message, its arguments or a traceback anyway."""

import logging
import re

from merchants.keys import KEY_PREFIX
from tokens.cards import contains_card_number

_DIGIT_RUN = re.compile(r"[0-9](?:[ .-]?[0-9]){11,}", re.ASCII)
_API_KEY = re.compile(rf"{KEY_PREFIX}[A-Za-z0-9_-]+", re.ASCII)
CARD_MARK = "[REDACTED CARD NUMBER]"
KEY_MARK = "[REDACTED API KEY]"


def redact(text: str) -> str:
    text = _API_KEY.sub(KEY_MARK, text)
    return _DIGIT_RUN.sub(lambda match: CARD_MARK if contains_card_number(match.group()) else match.group(), text)


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
