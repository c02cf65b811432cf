"""Recognise card numbers anywhere: the Luhn check, the check digit, and "may this text hold one?".

The base needs this without any app: log redaction, request-id screening and free-text screening
all refuse or mask what may be a card number. Card rules proper (lengths, expiry, networks) live in
tokens/cards.py. Every check uses ASCII rules: str.isdigit() would accept other scripts' digits.
"""

import re

# Runs of 12 or more digits, optionally split by single spaces, dashes or dots, as people write
# card numbers; a card number may hide inside a longer run (a number followed by its expiry).
DIGIT_RUN = re.compile(r"[0-9](?:[ .-]?[0-9]){11,}", re.ASCII)
_SEPARATORS = re.compile(r"[ .-]", re.ASCII)

MIN_LENGTH, MAX_LENGTH = 12, 19


def luhn_valid(digits: str) -> bool:
    """Tell whether an ASCII digit string passes the Luhn check."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def luhn_complete(partial: str) -> str:
    """Return *partial* followed by the check digit that makes it pass the Luhn check."""
    total = 0
    for position, char in enumerate(reversed(partial)):
        value = ord(char) - 48
        if position % 2 == 0:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return partial + str((10 - total % 10) % 10)


def contains_card_number(text: str) -> bool:
    """Tell whether *text* holds what may be a card number: a value never to store or log in clear.

    That is a Luhn-valid 12-19 digit run, alone or at either end of a longer run of digits.
    """
    for match in DIGIT_RUN.finditer(text):
        digits = _SEPARATORS.sub("", match.group())
        # The whole run, or a card number at either end of it (say, followed by its expiry).
        for length in range(MIN_LENGTH, min(len(digits), MAX_LENGTH) + 1):
            if luhn_valid(digits[:length]) or luhn_valid(digits[-length:]):
                return True
    return False
