"""Card-number rules. Plain functions on strings: no I/O, no storage, nothing logged."""

import re

# Runs of 12-19 digits, optionally split by single spaces or dashes, as people write card numbers.
_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){11,18}(?![0-9])", re.ASCII)


def luhn_valid(digits: str) -> bool:
    """Tell whether an ASCII digit string passes the Luhn check."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def contains_card_number(text: str) -> bool:
    """Tell whether *text* holds a Luhn-valid 12-19 digit run: a value that must not be stored in clear."""
    for match in _DIGIT_RUN.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        if 12 <= len(digits) <= 19 and luhn_valid(digits):
            return True
    return False
