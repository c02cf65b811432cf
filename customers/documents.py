"""Identity-document checks for `document_details`, as upstream validates them."""

import re

_NON_DIGITS = re.compile(r"[.\-/ ]", re.ASCII)
_DIGITS = re.compile(r"[0-9]+", re.ASCII)


def _check_digit(digits: str, weights: range | list[int]) -> int:
    remainder = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    return 0 if remainder < 2 else 11 - remainder


def cpf_valid(number: str) -> bool:
    """A Brazilian CPF: 11 digits, two check digits, not all one digit."""
    digits = _NON_DIGITS.sub("", number)
    if not _DIGITS.fullmatch(digits) or len(digits) != 11 or len(set(digits)) == 1:
        return False
    first = _check_digit(digits[:9], range(10, 1, -1))
    second = _check_digit(digits[:10], range(11, 1, -1))
    return digits[9:] == f"{first}{second}"


def cnpj_valid(number: str) -> bool:
    """A Brazilian CNPJ: 14 digits, two check digits, not all one digit."""
    digits = _NON_DIGITS.sub("", number)
    if not _DIGITS.fullmatch(digits) or len(digits) != 14 or len(set(digits)) == 1:
        return False
    first = _check_digit(digits[:12], [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2])
    second = _check_digit(digits[:13], [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2])
    return digits[12:] == f"{first}{second}"


def psn_valid(number: str) -> bool:
    """A PSN: exactly 12 digits."""
    return bool(_DIGITS.fullmatch(number)) and len(number) == 12


VALIDATORS = {"cpf": cpf_valid, "cnpj": cnpj_valid, "psn": psn_valid, "other": lambda number: True}
DOCUMENT_TYPES = tuple(VALIDATORS)


def document_valid(document_type: str, number: str) -> bool:
    return VALIDATORS[document_type](number)


def document_is_checked_and_valid(document_type: str, number: str) -> bool:
    """A document whose type has a check (not `other`) and whose number passes it."""
    return document_type != "other" and document_valid(document_type, number)
