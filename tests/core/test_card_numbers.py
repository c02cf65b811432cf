"""Recognising card numbers (core/card_numbers.py): the precise screen for stored text, the generous
one for logs and request ids, and the networks' IIN ranges and lengths behind them."""

import random

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from core.card_numbers import (
    contains_card_number,
    detect_network,
    is_card_number,
    luhn_complete,
    luhn_valid,
    may_hold_card_number,
    network_lengths,
)
from tests.helpers.card_numbers import TEST_CARDS, grouped, spellings
from tokens import cards

PROPERTY = hypothesis_settings(max_examples=300, deadline=None, database=None)
DIGITS = "0123456789"


@pytest.mark.parametrize(("number", "network"), TEST_CARDS.items())
def test_every_test_card_is_a_card_of_its_network(number, network):
    assert luhn_valid(number)
    assert detect_network(number) == network
    assert len(number) in network_lengths(number)
    assert is_card_number(number)
    assert cards.normalise_number(number) == number  # what the screen refuses is what the vault vaults


@pytest.mark.parametrize("number", TEST_CARDS)
def test_every_test_card_is_found_bare_or_grouped_anywhere_in_text(number):
    for spelled in spellings(number):
        for text in (spelled, f"card {spelled}", f"Ada ({spelled})", f"{spelled}, thanks", f"x{spelled}y"):
            assert contains_card_number(text), text
            assert may_hold_card_number(text), text


@pytest.mark.parametrize("number", ["4111111111111111", "378282246310005", "30569309025904"])
def test_a_grouped_card_number_followed_by_more_groups_is_found(number):
    # Written with its expiry or CVC right after it: the card's own groups are a candidate.
    assert contains_card_number(f"{grouped(number, ' ')} 1226")
    assert contains_card_number(f"{grouped(number, '-')}-123")
    assert contains_card_number(f"exp 12 26 {grouped(number, ' ')}")


# --- precision: what must not be taken for a card ---------------------------------------------------


@PROPERTY
@given(st.integers(1_000_000_000_000, 1_999_999_999_999))
def test_millisecond_timestamps_are_not_card_numbers(timestamp):
    # Upstream's clients build references as `customer_${Date.now()}`: 13 digits starting with 1.
    assert not contains_card_number(f"customer_{timestamp}")
    assert not contains_card_number(str(timestamp))


def test_a_luhn_valid_timestamp_is_still_not_a_card_number():
    timestamp = luhn_complete("173321234567")
    assert luhn_valid(timestamp) and len(timestamp) == 13
    assert not contains_card_number(f"customer_{timestamp}")
    # The generous check used for logs still masks it: a false alarm there costs nothing.
    assert may_hold_card_number(timestamp)


@PROPERTY
@given(st.sampled_from(sorted(TEST_CARDS)), st.text(DIGITS, min_size=1, max_size=4))
def test_a_card_number_inside_a_longer_bare_run_is_judged_as_the_whole_run(number, extra):
    run = number + extra
    if is_card_number(run):
        return
    assert not contains_card_number(f"ref {run}")


@PROPERTY
@given(st.integers(12, 19).flatmap(lambda n: st.text(DIGITS, min_size=n - 1, max_size=n - 1)))
def test_the_screen_refuses_exactly_the_numbers_the_vault_accepts_as_cards(partial):
    run = luhn_complete(partial)
    try:
        cards.normalise_number(run)
        accepted = True
    except cards.CardRuleError:
        accepted = False
    if run.startswith(cards.UNASSIGNED_IIN):
        assert not accepted  # refused as a card, and not looked for in text either way
    else:
        assert contains_card_number(f"order {run} shipped") is accepted


@PROPERTY
@given(st.sampled_from(sorted(TEST_CARDS)), st.integers(0, 9))
def test_a_card_number_with_a_wrong_check_digit_is_not_a_card(number, digit):
    broken = number[:-1] + str(digit)
    assert contains_card_number(broken) is luhn_valid(broken)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Ada Lovelace",
        "+1 415 555 2671",
        "+44 20 7946 0958",
        "2025-06-15 12:30:00",
        "12.345.678/0001-95",
        "order 1733212345678",
        "4111 1111 111",
        "4111111111111114",
        "111111111111",  # Luhn-valid, 12 digits of no network
        "4222222222222",  # 13 digits: Visa no longer issues them
        "+4915112345678",  # a German mobile number, Luhn-valid
        "45.91928266476927",  # a latitude: a dot is not a card number's separator
        "41111111111111110",  # 17 digits: Visa issues 16 and 19
        "3782822463100051",  # 16 digits from 37: American Express issues 15
    ],
)
def test_ordinary_text_is_not_a_card_number(text):
    assert not contains_card_number(text)


# --- networks ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "network"),
    [
        ("4", "Visa"),
        ("51", "Mastercard"),
        ("55", "Mastercard"),
        ("2221", "Mastercard"),
        ("2720", "Mastercard"),
        ("34", "AmericanExpress"),
        ("37", "AmericanExpress"),
        ("6011", "Discover"),
        ("644", "Discover"),
        ("659", "Discover"),
        ("3528", "JCB"),
        ("3589", "JCB"),
        ("36", "DinersClub"),
        ("300", "DinersClub"),
        ("305", "DinersClub"),
        ("38", "DinersClub"),
        ("620", "UnionPay"),
        ("81", "UnionPay"),
        ("6759", "Maestro"),
        ("50", "Maestro"),
        ("652150", "RuPay"),
        ("653149", "RuPay"),
        ("652149", "Discover"),
        ("653150", "Discover"),
    ],
)
def test_detect_network_by_iin(prefix, network):
    rng = random.Random(prefix)
    for length in (16, 19):
        partial = prefix + "".join(rng.choice(DIGITS) for _ in range(length - len(prefix) - 1))
        assert detect_network(luhn_complete(partial)) == network


@pytest.mark.parametrize("prefix", ["2220", "2721", "3527", "3590", "306", "33", "6012", "643", "1", "7", "9", "0"])
def test_detect_network_outside_any_range(prefix):
    assert detect_network(luhn_complete(prefix.ljust(15, "3"))) is None


@PROPERTY
@given(st.integers(2221, 2720), st.text(DIGITS, min_size=11, max_size=11))
def test_every_2_series_iin_is_mastercard(iin, rest):
    assert detect_network(luhn_complete(f"{iin}{rest}")) == "Mastercard"


@PROPERTY
@given(st.integers(650000, 659999), st.text(DIGITS, min_size=9, max_size=9))
def test_rupay_range_beats_discovers_65(iin, rest):
    expected = "RuPay" if 652150 <= iin <= 653149 else "Discover"
    assert detect_network(luhn_complete(f"{iin}{rest}")) == expected


# --- the generous check, for logs and request ids ---------------------------------------------------


@PROPERTY
@given(st.integers(12, 19).flatmap(lambda n: st.text(DIGITS, min_size=n - 1, max_size=n - 1)))
def test_the_generous_check_flags_every_luhn_valid_run(partial):
    assert may_hold_card_number(f"id {luhn_complete(partial)} end")


def test_the_generous_check_flags_a_card_at_either_end_of_a_longer_run():
    assert may_hold_card_number("41111111111111111226")
    assert may_hold_card_number("12264111111111111111")
    assert not contains_card_number("41111111111111111226")
