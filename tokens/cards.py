"""Card rules: number, expiry and CVC validation, network detection from IIN ranges, masking.

The Luhn check itself is in core/card_numbers.py, shared with log redaction and text screening.

Plain functions on strings: no I/O, no storage, nothing logged. Every check uses ASCII rules:
str.isdigit() and int() would accept Arabic-Indic or full-width digits.
"""

import re
from datetime import date

from core.card_numbers import MAX_LENGTH, MIN_LENGTH, luhn_valid

_DIGITS = re.compile(r"[0-9]+", re.ASCII)
MAX_YEARS_AHEAD = 50


class CardRuleError(ValueError):
    """A card value breaks a rule. The message never contains the value."""


def normalise_number(raw: str) -> str:
    """Return the card number without spaces, or raise CardRuleError."""
    digits = raw.replace(" ", "")
    if not _DIGITS.fullmatch(digits):
        raise CardRuleError("card number must contain digits only")
    if not MIN_LENGTH <= len(digits) <= MAX_LENGTH:
        raise CardRuleError(f"card number must have {MIN_LENGTH} to {MAX_LENGTH} digits")
    if not luhn_valid(digits):
        raise CardRuleError("card number fails the Luhn check")
    return digits


def expiry(month: str, year: str, *, today: date | None = None) -> tuple[int, int]:
    """Return (month, four-digit year) of a card that is valid now, or raise CardRuleError.

    A card is valid through the last day of its expiry month.
    """
    if not _DIGITS.fullmatch(month) or len(month) > 2 or not 1 <= int(month) <= 12:
        raise CardRuleError("expiry month must be 1 to 12")
    if not _DIGITS.fullmatch(year) or len(year) not in (2, 4):
        raise CardRuleError("expiry year must have 2 or 4 digits")
    full_year = 2000 + int(year) if len(year) == 2 else int(year)
    today = today or date.today()
    if (full_year, int(month)) < (today.year, today.month):
        raise CardRuleError("card has expired")
    if full_year > today.year + MAX_YEARS_AHEAD:
        raise CardRuleError(f"expiry year is more than {MAX_YEARS_AHEAD} years ahead")
    return int(month), full_year


def cvc_valid(cvc: str) -> bool:
    return bool(_DIGITS.fullmatch(cvc)) and len(cvc) in (3, 4)


# (first IIN, last IIN, network): IINs compared on as many leading digits as the bounds have. The
# most specific (longest) matching range wins, so RuPay's 652150-653149 beats Discover's 65.
_IIN_RANGES: tuple[tuple[str, str, str], ...] = (
    ("4", "4", "Visa"),
    ("51", "55", "Mastercard"),
    ("2221", "2720", "Mastercard"),
    ("34", "34", "AmericanExpress"),
    ("37", "37", "AmericanExpress"),
    ("6011", "6011", "Discover"),
    ("644", "649", "Discover"),
    ("65", "65", "Discover"),
    ("622126", "622925", "Discover"),
    ("3528", "3589", "JCB"),
    ("36", "36", "DinersClub"),
    ("300", "305", "DinersClub"),
    ("3095", "3095", "DinersClub"),
    ("38", "39", "DinersClub"),
    ("62", "62", "UnionPay"),
    ("81", "81", "UnionPay"),
    ("50", "50", "Maestro"),
    ("56", "58", "Maestro"),
    ("6304", "6304", "Maestro"),
    ("6759", "6759", "Maestro"),
    ("6761", "6763", "Maestro"),
    ("508500", "508999", "RuPay"),
    ("606985", "607984", "RuPay"),
    ("608001", "608500", "RuPay"),
    ("652150", "653149", "RuPay"),
)
NETWORKS = (
    "Visa", "Mastercard", "AmericanExpress", "JCB", "DinersClub", "Discover", "CartesBancaires", "UnionPay",
    "Interac", "RuPay", "Maestro", "Star", "Pulse", "Accel", "Nyce", "Prop", "PrivateLabel", "Dinacard",
)  # fmt: skip
# Upstream accepts these upper-case spellings on input too.
_NETWORK_ALIASES = {name.upper(): name for name in NETWORKS} | {"AMEX": "AmericanExpress", "DINERS": "DinersClub"}


def detect_network(number: str) -> str | None:
    """Return the network whose IIN range holds *number*, or None."""
    best: tuple[int, str] | None = None
    for first, last, network in _IIN_RANGES:
        prefix = number[: len(first)]
        if len(prefix) == len(first) and first <= prefix <= last and (best is None or len(first) > best[0]):
            best = (len(first), network)
    return best[1] if best else None


def canonical_network(name: str) -> str | None:
    """Return upstream's spelling of a network name given in any case, or None if unknown."""
    if not name.isascii():
        return None  # str.upper() would fold look-alikes such as a dotless i into ASCII
    return _NETWORK_ALIASES.get(name.upper())


def isin(number: str) -> str:
    """The first six digits (the BIN), which PCI DSS permits to show beside the last four."""
    return number[:6]


def last4(number: str) -> str:
    return number[-4:]


def mask(number: str) -> str:
    """Show at most the first six and last four digits."""
    hidden = max(len(number) - 10, 0)
    return f"{number[:6]}{'*' * hidden}{number[-4:]}" if hidden else f"{'*' * (len(number) - 4)}{number[-4:]}"
