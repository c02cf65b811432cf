"""Recognise card numbers anywhere: the Luhn check, the networks' IIN ranges and lengths, and two
questions about text — "does it hold a card number?" (precise, for text the vault stores) and "may it
hold one?" (generous, for text the vault only logs or echoes).

One definition serves both the vault's card input and its screen of free text (`is_card_number`):
a number the vault would vault as a card is a number it refuses to store in clear.

The base needs this without any app: log redaction, request-id screening and free-text screening all
refuse or mask card numbers. Card rules proper (expiry, CVC, masking) live in tokens/cards.py. Every
check uses ASCII rules: str.isdigit() would accept other scripts' digits.
"""

import re

MIN_LENGTH, MAX_LENGTH = 12, 19

# (first IIN, last IIN, network, valid lengths): IINs compared on as many leading digits as the
# bounds have. The most specific (longest) matching range wins, so RuPay's 652150-653149 beats
# Discover's 65. The lengths are those the networks issue today, as PCI data-discovery tools match
# them (Visa stopped issuing 13-digit numbers long ago; each such card has long expired).
_ANY_LONG = range(16, 20)
# An IIN no range here names (Mir, Elo, Troy, private label…): a card of 16 to 19 digits.
UNKNOWN_NETWORK_LENGTHS = frozenset(_ANY_LONG)
_IIN_RANGES: tuple[tuple[str, str, str, frozenset[int]], ...] = (
    ("4", "4", "Visa", frozenset({16, 19})),
    ("51", "55", "Mastercard", frozenset({16})),
    ("2221", "2720", "Mastercard", frozenset({16})),
    ("34", "34", "AmericanExpress", frozenset({15})),
    ("37", "37", "AmericanExpress", frozenset({15})),
    ("6011", "6011", "Discover", frozenset(_ANY_LONG)),
    ("644", "649", "Discover", frozenset(_ANY_LONG)),
    ("65", "65", "Discover", frozenset(_ANY_LONG)),
    ("622126", "622925", "Discover", frozenset(_ANY_LONG)),
    ("3528", "3589", "JCB", frozenset(_ANY_LONG)),
    ("36", "36", "DinersClub", frozenset(range(14, 20))),
    ("300", "305", "DinersClub", frozenset(range(14, 20))),
    ("3095", "3095", "DinersClub", frozenset(range(14, 20))),
    ("38", "39", "DinersClub", frozenset(range(14, 20))),
    ("62", "62", "UnionPay", frozenset(_ANY_LONG)),
    ("81", "81", "UnionPay", frozenset(_ANY_LONG)),
    ("50", "50", "Maestro", frozenset(range(12, 20))),
    ("56", "58", "Maestro", frozenset(range(12, 20))),
    ("6304", "6304", "Maestro", frozenset(range(12, 20))),
    ("6759", "6759", "Maestro", frozenset(range(12, 20))),
    ("6761", "6763", "Maestro", frozenset(range(12, 20))),
    ("508500", "508999", "RuPay", frozenset({16})),
    ("606985", "607984", "RuPay", frozenset({16})),
    ("608001", "608500", "RuPay", frozenset({16})),
    ("652150", "653149", "RuPay", frozenset({16})),
)

# A digit run as people write card numbers: digits, optionally grouped by single spaces or dashes.
# (Not dots: "45.91928266476927" is a latitude, not a card after a 45.)
_GROUPED_RUN = re.compile(r"[0-9]+(?:[ -][0-9]+)*", re.ASCII)
_SEPARATOR = re.compile(r"[ -]", re.ASCII)
# Any run of 12 or more digits, groups (dots too) ignored: what the generous check looks at.
LONG_DIGIT_RUN = re.compile(r"[0-9](?:[ .-]?[0-9]){11,}", re.ASCII)
_LONG_RUN_SEPARATOR = re.compile(r"[ .-]", re.ASCII)
_NOT_DIGIT = re.compile(r"[^0-9]", re.ASCII)


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


def _network_range(digits: str) -> tuple[str, frozenset[int]] | None:
    best: tuple[int, str, frozenset[int]] | None = None
    for first, last, network, lengths in _IIN_RANGES:
        prefix = digits[: len(first)]
        if len(prefix) == len(first) and first <= prefix <= last and (best is None or len(first) > best[0]):
            best = (len(first), network, lengths)
    return (best[1], best[2]) if best else None


def detect_network(digits: str) -> str | None:
    """Return the network whose IIN range holds *digits* (a number or its leading digits), or None."""
    found = _network_range(digits)
    return found[0] if found else None


def network_lengths(digits: str) -> frozenset[int]:
    """The lengths the network of *digits* issues; 16 to 19 for an IIN no range here names."""
    found = _network_range(digits)
    return found[1] if found else UNKNOWN_NETWORK_LENGTHS


def is_card_number(digits: str) -> bool:
    """Tell whether an ASCII digit string is a card number: a length its IIN's network issues (16-19
    digits for an IIN of no network listed here), and the Luhn check."""
    return len(digits) in network_lengths(digits) and luhn_valid(digits)


def contains_card_number(text: str, *, min_length: int = MIN_LENGTH) -> bool:
    """Tell whether *text* holds a card number (of *min_length* digits or more): a value the vault
    must never store in clear.

    A candidate is a whole digit run, or whole consecutive groups of a run grouped by single spaces
    or dashes (a number written "4111 1111 1111 1111" and followed by more digits) — never an
    arbitrary slice of a bare run, so a 13-digit timestamp is judged as the 13 digits it is.
    """
    for match in _GROUPED_RUN.finditer(text):
        groups = _SEPARATOR.split(match.group())
        for start in range(len(groups)):
            digits = ""
            for index in range(start, len(groups)):  # no slicing: linear in the run, whatever its size
                digits += groups[index]
                if len(digits) > MAX_LENGTH:
                    break
                if len(digits) >= min_length and is_card_number(digits):
                    return True
    return False


def digits_are_card_number(text: str, *, min_length: int = MIN_LENGTH) -> bool:
    """Tell whether the digits of *text*, every other character ignored, are a card number (of
    *min_length* digits or more): for short formatted values such as phone numbers, where
    parentheses or doubled spaces could split a card."""
    digits = _NOT_DIGIT.sub("", text)
    return len(digits) >= min_length and is_card_number(digits)


def may_hold_card_number(text: str) -> bool:
    """Tell whether *text* may hold a card number, erring on the side of yes: any Luhn-valid run of
    12-19 digits, alone or at either end of a longer run, whatever its IIN.

    For text the vault logs or echoes but does not store as data — log lines, request ids — where a
    false alarm costs nothing: the text is masked or replaced, never refused.
    """
    for match in LONG_DIGIT_RUN.finditer(text):
        digits = _LONG_RUN_SEPARATOR.sub("", match.group())
        for length in range(MIN_LENGTH, min(len(digits), MAX_LENGTH) + 1):
            if luhn_valid(digits[:length]) or luhn_valid(digits[-length:]):
                return True
    return False
