"""Card rules (tokens/cards.py): Luhn, number parsing, expiry, CVC, network names, masking.

Recognising card numbers in text, and the networks' IIN ranges, are tested in tests/core/test_card_numbers.py.

Card numbers are built in code from a prefix, digits and a Luhn check digit computed by the reference
implementation below, which shares no code with the module under test.
"""

import random
import re
from datetime import date

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from core.card_numbers import luhn_valid
from tokens import cards

PROPERTY = hypothesis_settings(max_examples=200, deadline=None, database=None)
DIGITS = "0123456789"
TODAY = date(2025, 6, 15)


# --- Reference helpers ----------------------------------------------------------------------------


def reference_luhn(digits: str) -> bool:
    """Luhn, as the textbook states it: double every second digit from the right, add the digits."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = DIGITS.index(char)
        if index % 2 == 1:
            value = sum(divmod(value * 2, 10))
        total += value
    return total % 10 == 0


def with_check_digit(partial: str) -> str:
    """*partial* followed by the one digit that makes it Luhn-valid."""
    (number,) = [partial + digit for digit in DIGITS if reference_luhn(partial + digit)]
    return number


def make_card(prefix: str, length: int = 16, rng: random.Random | None = None) -> str:
    rng = rng or random.Random(prefix)
    body = "".join(rng.choice(DIGITS) for _ in range(length - len(prefix) - 1))
    return with_check_digit(prefix + body)


# (IIN prefix, length) of card numbers of every kind: a network's own lengths, and 16-19 digits for
# IINs no network in the table names. ("501": a Maestro 50 IIN outside RuPay's 508500-508999, which is 16 digits only.)
CARD_SHAPES = [
    ("4", 16), ("4", 19), ("55", 16), ("2720", 16), ("37", 15), ("36", 14), ("6011", 19), ("3530", 17),
    ("501", 12), ("58", 13), ("62", 18), ("652150", 16), ("9", 16), ("1", 19), ("7", 17),
]  # fmt: skip


def card_numbers(min_length: int = cards.MIN_LENGTH, max_length: int = cards.MAX_LENGTH):
    """Luhn-valid ASCII digit strings of the given lengths: card numbers when the lengths are the
    vault's (12-19), any digits otherwise."""
    if (min_length, max_length) == (cards.MIN_LENGTH, cards.MAX_LENGTH):
        return st.sampled_from(CARD_SHAPES).flatmap(
            lambda shape: st.text(
                DIGITS, min_size=shape[1] - len(shape[0]) - 1, max_size=shape[1] - len(shape[0]) - 1
            ).map(lambda body: with_check_digit(shape[0] + body))
        )
    return st.integers(min_length, max_length).flatmap(
        lambda length: st.text(DIGITS, min_size=length - 1, max_size=length - 1).map(with_check_digit)
    )


def no_luhn_valid_window(digits: str) -> bool:
    """True when no contiguous 12+ digit stretch of *digits* is Luhn-valid (so nothing may pass as a card)."""
    return not any(
        reference_luhn(digits[start : start + length])
        for length in range(cards.MIN_LENGTH, len(digits) + 1)
        for start in range(len(digits) - length + 1)
    )


def grouped(number: str, separator: str, size: int = 4) -> str:
    return separator.join(number[i : i + size] for i in range(0, len(number), size))


PUBLIC_TEST_NUMBERS = ["4111111111111111", "5555555555554444", "378282246310005", "6011111111111117"]


# --- luhn_valid -------------------------------------------------------------------------------------


def test_reference_luhn_agrees_with_published_test_numbers():
    # Guards the reference itself, so the properties below compare against something right.
    assert all(reference_luhn(number) for number in PUBLIC_TEST_NUMBERS)
    assert not reference_luhn("4111111111111112")


@PROPERTY
@given(st.text(DIGITS, min_size=1, max_size=25))
def test_luhn_valid_matches_the_reference(digits):
    assert luhn_valid(digits) is reference_luhn(digits)


@PROPERTY
@given(card_numbers(1, 25), st.data())
def test_luhn_accepts_a_computed_check_digit_and_catches_any_single_digit_change(number, data):
    assert luhn_valid(number)
    position = data.draw(st.integers(0, len(number) - 1))
    replacement = data.draw(st.sampled_from(DIGITS).filter(lambda d: d != number[position]))
    assert not luhn_valid(number[:position] + replacement + number[position + 1 :])


@pytest.mark.parametrize("number", PUBLIC_TEST_NUMBERS)
def test_luhn_accepts_public_test_numbers(number):
    assert luhn_valid(number)


# --- normalise_number -------------------------------------------------------------------------------


@PROPERTY
@given(card_numbers(), st.lists(st.integers(0, 19), max_size=6))
def test_normalise_number_strips_spaces_anywhere(number, space_positions):
    spaced = number
    for position in sorted(space_positions, reverse=True):
        spaced = spaced[:position] + " " + spaced[position:]
    assert cards.normalise_number(spaced) == number


def test_normalise_number_accepts_the_usual_spellings():
    assert cards.normalise_number("4111 1111 1111 1111") == "4111111111111111"
    assert cards.normalise_number(" 4111111111111111 ") == "4111111111111111"
    assert cards.normalise_number(make_card("50", 12)) == make_card("50", 12)  # Maestro issues 12 digits
    assert cards.normalise_number(make_card("6", 19)) == make_card("6", 19)


@pytest.mark.parametrize(("prefix", "length"), [("4", 13), ("55", 15), ("37", 16), ("9", 15), ("1", 13)])
def test_normalise_number_refuses_a_length_the_network_does_not_issue(prefix, length):
    with pytest.raises(cards.CardRuleError, match="network"):
        cards.normalise_number(make_card(prefix, length))


ARABIC_INDIC_FOUR = "\u0664"  # '٤'
FULL_WIDTH_FOUR = "\uff14"  # '４'


@pytest.mark.parametrize(
    "spell",
    [
        pytest.param(lambda n: ARABIC_INDIC_FOUR + n[1:], id="arabic-indic-digit"),
        pytest.param(lambda n: FULL_WIDTH_FOUR + n[1:], id="full-width-digit"),
        pytest.param(lambda n: "".join(chr(0x0660 + int(d)) for d in n), id="all-arabic-indic"),
        pytest.param(lambda n: "".join(chr(0xFF10 + int(d)) for d in n), id="all-full-width"),
        pytest.param(lambda n: grouped(n, "_"), id="underscores"),
        pytest.param(lambda n: grouped(n, "-"), id="dashes"),
        pytest.param(lambda n: "+" + n, id="plus"),
        pytest.param(lambda n: "-" + n, id="minus"),
        pytest.param(lambda n: grouped(n, "\t"), id="tabs"),
        pytest.param(lambda n: grouped(n, "\u00a0"), id="no-break-spaces"),
        pytest.param(lambda n: n + "\n", id="newline"),
        pytest.param(lambda n: n[:8] + "x" + n[8:], id="letter"),
        pytest.param(lambda n: "", id="empty"),
        pytest.param(lambda n: "   ", id="spaces-only"),
    ],
)
def test_normalise_number_refuses_anything_but_ascii_digits_and_spaces(spell):
    number = "4111111111111111"
    with pytest.raises(cards.CardRuleError) as caught:
        cards.normalise_number(spell(number))
    assert number not in str(caught.value)


def test_normalise_number_refuses_wrong_lengths_and_luhn_failures():
    for number in (make_card("4", 11), make_card("4", 20), make_card("4", 6)):
        assert reference_luhn(number)
        with pytest.raises(cards.CardRuleError, match="12 to 19 digits"):
            cards.normalise_number(number)
    with pytest.raises(cards.CardRuleError, match="Luhn"):
        cards.normalise_number("4111111111111112")


def _bad_inputs():
    """Luhn failures, wrong lengths and foreign characters around otherwise good numbers."""
    valid = card_numbers()
    luhn_broken = valid.map(lambda n: n[:-1] + str((int(n[-1]) + 1) % 10))
    too_short = card_numbers(1, cards.MIN_LENGTH - 1)
    too_long = card_numbers(cards.MAX_LENGTH + 1, 40)
    foreign = st.tuples(valid, st.sampled_from(["\u0664", "\uff14", "_", "+", "-", ".", "\t"]), st.integers(0, 19)).map(
        lambda t: t[0][: t[2]] + t[1] + t[0][t[2] :]
    )
    return st.one_of(luhn_broken, too_short, too_long, foreign)


@PROPERTY
@given(_bad_inputs())
def test_a_refusal_never_repeats_the_submitted_digits(raw):
    with pytest.raises(cards.CardRuleError) as caught:
        cards.normalise_number(raw)
    message = " ".join(str(arg) for arg in caught.value.args)
    digits = re.sub(r"[^0-9]", "", raw)
    assert raw not in message
    # Not the whole number, nor the last four or the BIN: the message holds no run of 4+ digits at all.
    assert not re.search(r"[0-9]{4}", message), message
    if len(digits) >= 4:
        assert digits[-4:] not in message


# --- expiry -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("month", [*(str(m) for m in range(1, 13)), *(f"{m:02d}" for m in range(1, 13))])
def test_expiry_accepts_months_one_to_twelve_in_one_or_two_digits(month):
    assert cards.expiry(month, "2030", today=TODAY) == (int(month), 2030)


@pytest.mark.parametrize("month", ["0", "00", "13", "012", "1a", "", " 1", "1 ", "-1", "+1", "\u0661", "\uff11", "1.0"])
def test_expiry_refuses_other_months(month):
    with pytest.raises(cards.CardRuleError, match="month"):
        cards.expiry(month, "2030", today=TODAY)


def test_expiry_reads_two_digit_years_as_20yy():
    assert cards.expiry("12", "30", today=TODAY) == (12, 2030)
    assert cards.expiry("1", "26", today=TODAY) == (1, 2026)
    assert cards.expiry("6", "25", today=TODAY) == (6, 2025)


@pytest.mark.parametrize("year", ["2", "203", "20300", "", "2O30", " 30", "\u0663\u0660", "\uff13\uff10", "+30"])
def test_expiry_refuses_years_of_other_lengths_or_characters(year):
    with pytest.raises(cards.CardRuleError, match="year"):
        cards.expiry("12", year, today=TODAY)


@pytest.mark.parametrize(
    ("month", "year", "accepted"),
    [
        ("5", "2025", False),  # last month
        ("6", "2025", True),  # this month: valid to its last day
        ("06", "25", True),
        ("7", "2025", True),
        ("12", "2024", False),
        ("1", "2026", True),
        ("12", "2075", True),  # 50 years ahead
        ("1", "2076", False),  # more than 50 years ahead
        ("1", "76", False),
        ("12", "99", False),
    ],
)
def test_expiry_window_examples(month, year, accepted):
    if accepted:
        assert cards.expiry(month, year, today=TODAY)[1] == (2000 + int(year) if len(year) == 2 else int(year))
    else:
        with pytest.raises(cards.CardRuleError):
            cards.expiry(month, year, today=TODAY)


def test_expiry_is_accepted_through_the_last_day_of_the_month():
    assert cards.expiry("6", "2025", today=date(2025, 6, 30)) == (6, 2025)
    with pytest.raises(cards.CardRuleError, match="expired"):
        cards.expiry("6", "2025", today=date(2025, 7, 1))


@PROPERTY
@given(st.dates(date(2000, 1, 1), date(2049, 12, 31)), st.integers(-240, 12 * 51), st.booleans())
def test_expiry_accepts_exactly_from_this_month_to_fifty_years_ahead(today, months_ahead, two_digit_year):
    index = today.year * 12 + today.month - 1 + months_ahead
    year, month = divmod(index, 12)
    month += 1
    # Two digits always mean 20YY, so only years of this century can be written that way.
    year_text = f"{year % 100:02d}" if two_digit_year and 2000 <= year <= 2099 else str(year)
    expected = months_ahead >= 0 and year <= today.year + 50
    if expected:
        assert cards.expiry(str(month), year_text, today=today) == (month, year)
    else:
        with pytest.raises(cards.CardRuleError):
            cards.expiry(str(month), year_text, today=today)


def test_expiry_defaults_to_the_real_today():
    this_year = date.today().year
    assert cards.expiry("12", str(this_year + 1)) == (12, this_year + 1)
    with pytest.raises(cards.CardRuleError):
        cards.expiry("1", str(this_year - 1))


# --- cvc_valid --------------------------------------------------------------------------------------


@pytest.mark.parametrize("cvc", ["000", "123", "999", "0000", "1234"])
def test_cvc_of_three_or_four_ascii_digits_is_valid(cvc):
    assert cards.cvc_valid(cvc)


@pytest.mark.parametrize(
    "cvc",
    ["", "1", "12", "12345", "12a", "\u0661\u0662\u0663", "\uff11\uff12\uff13", " 123", "123 ", "1 23", "+123", "-12"],
)
def test_other_cvcs_are_invalid(cvc):
    assert not cards.cvc_valid(cvc)


@PROPERTY
@given(st.text(max_size=6))
def test_cvc_valid_is_three_or_four_ascii_digits(text):
    assert cards.cvc_valid(text) is (len(text) in (3, 4) and all(char in DIGITS for char in text))


# --- canonical_network ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", cards.NETWORKS)
def test_canonical_network_ignores_case(name):
    for spelling in (name, name.lower(), name.upper(), name.swapcase()):
        assert cards.canonical_network(spelling) == name


@pytest.mark.parametrize(
    ("alias", "name"), [("AMEX", "AmericanExpress"), ("amex", "AmericanExpress"), ("Amex", "AmericanExpress")]
)
def test_canonical_network_knows_the_amex_alias(alias, name):
    assert cards.canonical_network(alias) == name


@pytest.mark.parametrize("name", ["", "Visa Electron", " Visa", "Visa ", "Master Card", "American Express", "V1SA"])
def test_canonical_network_refuses_unknown_names(name):
    assert cards.canonical_network(name) is None


@pytest.mark.parametrize("name", ["v\u0131sa", "vi\u017fa"])
def test_canonical_network_refuses_non_ascii_lookalikes(name):
    assert cards.canonical_network(name) is None


# --- mask, isin, last4 ------------------------------------------------------------------------------


@PROPERTY
@given(card_numbers())
def test_mask_never_shows_more_than_half_of_the_digits(number):
    masked = cards.mask(number)
    lead = cards.isin(number)
    assert len(masked) == len(number)
    assert masked == lead + "*" * (len(number) - len(lead) - 4) + number[-4:]
    assert sum(char in DIGITS for char in masked) <= len(number) / 2
    assert len(lead) <= 6
    assert number not in masked


@pytest.mark.parametrize(("length", "lead"), [(12, 2), (13, 2), (14, 3), (15, 3), (16, 4), (17, 4), (18, 5), (19, 5)])
def test_leading_digits_shown_per_length(length, lead):
    number = make_card("4", length)
    assert cards.isin(number) == number[:lead]
    assert len(cards.isin(number)) + 4 <= length / 2


def test_mask_examples():
    assert cards.mask("4111111111111111") == "4111********1111"
    assert cards.mask("378282246310005") == "378********0005"
    twelve = make_card("5", 12)
    assert cards.mask(twelve) == twelve[:2] + "******" + twelve[-4:]


@PROPERTY
@given(card_numbers())
def test_isin_is_a_prefix_and_last4_the_last_four(number):
    assert number.startswith(cards.isin(number))
    assert cards.last4(number) == number[-4:] and len(cards.last4(number)) == 4


def test_isin_and_last4_examples():
    assert cards.isin("4111111111111111") == "4111"
    assert cards.isin("4917610000000000003") == "49176"
    assert cards.last4("5555555555554444") == "4444"


def test_normalise_number_refuses_the_all_zero_iin():
    with pytest.raises(cards.CardRuleError, match="issuer"):
        cards.normalise_number("0000000000000000")
    with pytest.raises(cards.CardRuleError, match="issuer"):
        cards.normalise_number(with_check_digit("000000123456789"))
