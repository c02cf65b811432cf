"""Card rules: number, expiry and CVC validation, network names, masking.

The Luhn check and the networks' IIN ranges are in core/card_numbers.py, shared with log redaction
and text screening.

Plain functions on strings: no I/O, no storage, nothing logged. Every check uses ASCII rules:
str.isdigit() and int() would accept Arabic-Indic or full-width digits.
"""

import re
from datetime import date

from core.card_numbers import MAX_LENGTH, MIN_LENGTH, is_card_number, luhn_valid

_DIGITS = re.compile(r"[0-9]+", re.ASCII)
MAX_YEARS_AHEAD = 50
# No issuer has an all-zero IIN; "0000 0000 0000 0000" passes the Luhn check all the same.
UNASSIGNED_IIN = "000000"


class CardRuleError(ValueError):
    """A card value breaks a rule. The message never contains the value."""


def normalise_number(raw: str) -> str:
    """Return the card number without spaces, or raise CardRuleError."""
    digits = raw.replace(" ", "")  # ASCII spaces only: a tab or a no-break space is not a digit
    if not _DIGITS.fullmatch(digits):
        raise CardRuleError("card number must contain digits only")
    if not MIN_LENGTH <= len(digits) <= MAX_LENGTH:
        raise CardRuleError(f"card number must have {MIN_LENGTH} to {MAX_LENGTH} digits")
    if not luhn_valid(digits):
        raise CardRuleError("card number fails the Luhn check")
    if digits.startswith(UNASSIGNED_IIN):
        raise CardRuleError("card number has no issuer")
    # The same rule as the screen of free text: what is vaulted as a card is refused as text.
    if not is_card_number(digits):
        raise CardRuleError("card number length is not one its network issues")
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


NETWORKS = (
    "Visa", "Mastercard", "AmericanExpress", "JCB", "DinersClub", "Discover", "CartesBancaires", "UnionPay",
    "Interac", "RuPay", "Maestro", "Star", "Pulse", "Accel", "Nyce", "Prop", "PrivateLabel", "Dinacard",
)  # fmt: skip
# Upstream accepts these upper-case spellings on input too.
_NETWORK_ALIASES = {name.upper(): name for name in NETWORKS} | {"AMEX": "AmericanExpress", "DINERS": "DinersClub"}


def canonical_network(name: str) -> str | None:
    """Return upstream's spelling of a network name given in any case, or None if unknown."""
    if not name.isascii():
        return None  # str.upper() would fold look-alikes such as a dotless i into ASCII
    return _NETWORK_ALIASES.get(name.upper())


def visible_lead_length(length: int) -> int:
    """How many leading digits a number of *length* digits may show beside its last four: the BIN's
    six at most (PCI DSS 3.4.1), and never so many that more than half the number shows."""
    return max(0, min(6, length // 2 - 4))


def isin(number: str) -> str:
    """The leading digits the vault shows (`card_isin`): up to the six of the BIN, fewer on short
    numbers, so that with the last four never more than half of the digits are known."""
    return number[: visible_lead_length(len(number))]


def last4(number: str) -> str:
    return number[-4:]


def mask(number: str) -> str:
    """The number with every digit hidden but `isin` and the last four: at most half of it shows."""
    lead = isin(number)
    return f"{lead}{'*' * (len(number) - len(lead) - 4)}{number[-4:]}"
