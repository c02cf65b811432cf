"""Envelope encryption (tokens/crypto.py): sealing, binding to a record, tamper evidence, rewrap, fingerprints.

Every test runs once per key provider, each the real one (the local keyring, a SoftHSM2 token, moto's
KMS server): the root key wraps the merchant keys that wrap the cards' data keys. Legacy KEKs and
fingerprint keys come from the pytest-django `settings` fixture.
"""

import base64
import hashlib
import logging
import re

import pytest
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from core.ids import is_global_id
from merchants.models import Merchant
from tests.helpers.legacy_values import legacy_seal
from tokens import cards, crypto, merchant_keys
from tokens.crypto import CardSecret, DecryptionFailed

PROPERTY = hypothesis_settings(
    max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
DIGITS = "0123456789"
B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def key(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


KEK_1, KEK_2, KEK_3 = key("kek-1"), key("kek-2"), key("kek-3")
FINGERPRINT_1, FINGERPRINT_2 = key("fingerprint-1"), key("fingerprint-2")
MERCHANT, OTHER_MERCHANT = "01_mer_" + "a" * 32, "01_mer_" + "b" * 32
RECORD = "01_pm_" + "c" * 32


def use_keyring(settings, keks: dict[str, bytes], active: str, fingerprint_keys: dict[str, bytes] | None = None):
    settings.VAULT_KEYRING = keks
    settings.VAULT_ACTIVE_KEK = active
    if fingerprint_keys is not None:
        settings.VAULT_FINGERPRINT_KEYS = fingerprint_keys


@pytest.fixture(autouse=True)
def keyring(settings, key_provider, db):
    use_keyring(settings, {"1": KEK_1}, "1", {"1": FINGERPRINT_1})
    for merchant_id in (MERCHANT, OTHER_MERCHANT):
        Merchant.objects.create(id=merchant_id, name=merchant_id)
    return settings


def new_merchant_key() -> int:
    """Make a new key MERCHANT's active one (the old one retired, still opening); answer its version."""
    merchant_key, _ = merchant_keys.rotate_merchant_key(MERCHANT)
    merchant_keys.cache.forget()
    return merchant_key.version


def luhn_number(partial: str) -> str:
    """*partial* plus its Luhn check digit (textbook algorithm, independent of tokens.cards)."""
    for digit in DIGITS:
        total = 0
        for index, char in enumerate(reversed(partial + digit)):
            value = int(char) * (2 if index % 2 else 1)
            total += value - 9 if value > 9 else value
        if total % 10 == 0:
            return partial + digit
    raise AssertionError("unreachable")


card_numbers = st.integers(12, 19).flatmap(
    lambda length: st.text(DIGITS, min_size=length - 1, max_size=length - 1).map(luhn_number)
)
secrets = st.builds(CardSecret, number=card_numbers, token_number=st.none() | card_numbers)
ids = st.text("0123456789abcdef", min_size=32, max_size=32).map(lambda hex_: f"01_pm_{hex_}")


def parts(value: str) -> list[str]:
    scheme, version, wrapped, payload = value.split(".")
    return [scheme, version, wrapped, payload]


def seal(secret: CardSecret, merchant_id: str = MERCHANT, record_id: str = RECORD) -> crypto.Sealed:
    return crypto.seal(secret, merchant_id=merchant_id, record_id=record_id)


def open_(value: str, merchant_id: str = MERCHANT, record_id: str = RECORD) -> CardSecret:
    return crypto.open_sealed(value, merchant_id=merchant_id, record_id=record_id)


VISA = CardSecret("4111111111111111")


# --- seal and open ----------------------------------------------------------------------------------


@PROPERTY
@given(secrets, st.sampled_from([MERCHANT, OTHER_MERCHANT]), ids)
def test_seal_then_open_gives_the_card_back(secret, merchant_id, record_id):
    sealed = crypto.seal(secret, merchant_id=merchant_id, record_id=record_id)
    opened = crypto.open_sealed(sealed.value, merchant_id=merchant_id, record_id=record_id)
    assert opened == secret
    assert (opened.number, opened.token_number) == (secret.number, secret.token_number)


@PROPERTY
@given(secrets)
def test_the_sealed_value_names_scheme_and_version_and_hides_the_card(secret):
    sealed = seal(secret)
    assert sealed.merchant_key_version == 1
    assert sealed.value.startswith("v2.1.")
    scheme, version, wrapped, payload = parts(sealed.value)
    assert (scheme, version) == ("v2", "1")
    decoded = base64.b64decode(wrapped) + base64.b64decode(payload)
    for clear in filter(None, (secret.number, secret.token_number)):
        assert clear not in sealed.value
        assert base64.b64encode(clear.encode()).decode() not in sealed.value
        assert clear.encode() not in decoded
    assert base64.b64encode(secret.to_bytes()).decode() not in sealed.value
    assert secret.to_bytes() not in decoded


def test_the_sealed_value_records_the_active_merchant_key_version():
    first = seal(VISA)
    assert new_merchant_key() == 2
    sealed = seal(VISA)
    assert sealed.merchant_key_version == 2 and sealed.value.startswith("v2.2.")
    assert open_(sealed.value) == open_(first.value) == VISA
    assert seal(VISA, merchant_id=OTHER_MERCHANT).value.startswith("v2.1.")


def test_two_seals_of_one_card_differ_in_data_key_and_nonce():
    first, second = seal(VISA), seal(VISA)
    assert first.value != second.value
    for index in (2, 3):  # the wrapped data key and the card ciphertext, each led by its 12-byte nonce
        mine, theirs = (base64.b64decode(parts(sealed.value)[index]) for sealed in (first, second))
        assert mine[:12] != theirs[:12] and mine[12:] != theirs[12:]
    assert open_(first.value) == open_(second.value) == VISA


# --- binding to merchant and record ---------------------------------------------------------------


@PROPERTY
@given(secrets, ids, ids)
def test_a_sealed_value_opens_only_for_its_own_record(secret, record_id, other_record_id):
    assume(record_id != other_record_id)
    assert is_global_id(record_id, "pm")
    sealed = seal(secret, record_id=record_id)
    with pytest.raises(DecryptionFailed):
        open_(sealed.value, record_id=other_record_id)
    with pytest.raises(DecryptionFailed):
        open_(sealed.value, merchant_id=OTHER_MERCHANT, record_id=record_id)
    with pytest.raises(DecryptionFailed):
        crypto.rewrap(sealed.value, merchant_id=MERCHANT, record_id=other_record_id)
    assert open_(sealed.value, record_id=record_id) == secret


def test_a_data_key_and_a_ciphertext_from_two_seals_do_not_match():
    mine, theirs = seal(VISA), seal(VISA)
    spliced = ".".join([*parts(mine.value)[:3], parts(theirs.value)[3]])
    with pytest.raises(DecryptionFailed):
        open_(spliced)


# --- tampering and garbage --------------------------------------------------------------------------


@pytest.fixture
def two_keks(settings):
    # With a second merchant key, relabelling the version points at a key that exists.
    new_merchant_key()


NO_PADDING_CARD = CardSecret(luhn_number("4" * 17))


def _no_padding_sealed() -> str:
    """A sealed value whose base64 parts carry no padding, so every character holds only significant bits."""
    # wrapped = nonce (12) + DEK (32) + tag (16) = 60 bytes; payload = nonce (12) + tag (16) + the
    # JSON `{"n":"<18 digits>","t":null}` (35) = 63 bytes: both multiples of three.
    value = seal(NO_PADDING_CARD).value
    assert all(len(part) % 4 == 0 and not part.endswith("=") for part in parts(value)[2:])
    return value


def decodes_to_the_same(value: str, other: str) -> bool:
    """Tell whether *other* is only another base64 spelling of *value* (refused: see the test below)."""
    try:
        mine, theirs = parts(value), parts(other)
        return mine[:2] == theirs[:2] and all(
            base64.b64decode(a, validate=True) == base64.b64decode(b, validate=True)
            for a, b in zip(mine[2:], theirs[2:], strict=True)
        )
    except ValueError:
        return False


def test_every_flipped_bit_of_wrapped_key_or_ciphertext_is_refused(two_keks):
    value = seal(CardSecret("5555555555554444", token_number="4111111111111111")).value
    for index in (2, 3):
        raw = bytearray(base64.b64decode(parts(value)[index]))
        for position in range(len(raw)):
            for bit in range(8):
                flipped = bytearray(raw)
                flipped[position] ^= 1 << bit
                tampered = parts(value)
                tampered[index] = base64.b64encode(bytes(flipped)).decode()
                with pytest.raises(DecryptionFailed):
                    open_(".".join(tampered))
    assert open_(value).number == "5555555555554444"


REPLACEMENTS = "A/+=.0129v_-~ \n\u00e9\u0661"


def test_every_replaced_character_is_refused(two_keks):
    value = _no_padding_sealed()
    checked = 0
    for position, original in enumerate(value):
        for replacement in REPLACEMENTS:
            if replacement == original:
                continue
            with pytest.raises(DecryptionFailed):
                open_(value[:position] + replacement + value[position + 1 :])
            checked += 1
    assert checked > 100 * len(REPLACEMENTS)
    assert open_(value) == NO_PADDING_CARD


@PROPERTY
@given(secrets, st.data())
def test_any_edit_of_a_sealed_value_is_refused_with_decryption_failed(two_keks, secret, data):
    value = seal(secret).value
    position = data.draw(st.integers(0, len(value)), label="position")
    edit = data.draw(st.sampled_from(["replace", "insert", "delete"]), label="edit")
    char = data.draw(st.characters(), label="char")
    if edit == "replace" and position < len(value):
        tampered = value[:position] + char + value[position + 1 :]
    elif edit == "delete" and position < len(value):
        tampered = value[:position] + value[position + 1 :]
    else:
        tampered = value[:position] + char + value[position:]
    assume(tampered != value)
    with pytest.raises(DecryptionFailed):
        open_(tampered)


def _flip_an_unused_bit(value: str) -> str:
    """Change the last payload character before '=' padding in a bit the decoder discards."""
    payload = parts(value)[3]
    data = payload.rstrip("=")
    other = B64_ALPHABET[B64_ALPHABET.index(data[-1]) ^ 1]
    return ".".join([*parts(value)[:3], data[:-1] + other + payload[len(data) :]])


def _pad_part(index: int):
    def pad(value: str) -> str:
        edited = parts(value)
        edited[index] += "="
        return ".".join(edited)

    return pad


def _opens(value: str) -> bool:
    try:
        open_(value)
    except DecryptionFailed:
        return False
    return True


@pytest.mark.parametrize(
    ("secret", "respell"),
    [
        pytest.param(VISA, _flip_an_unused_bit, id="payload-unused-bits"),  # 61-byte payload: '==' padding
        pytest.param(NO_PADDING_CARD, _pad_part(3), id="payload-extra-padding"),
        pytest.param(VISA, _pad_part(2), id="wrapped-extra-padding"),
    ],
)
def test_another_base64_spelling_of_a_sealed_value_is_refused(secret, respell):
    value = seal(secret).value
    tampered = respell(value)
    if tampered == value or not decodes_to_the_same(value, tampered):
        pytest.fail("the edit was meant to change the spelling only, not the decoded bytes")
    assert not _opens(tampered)


def _valid_parts() -> list[str]:
    return parts(seal(VISA).value)


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda p: ".".join(["v3", *p[1:]]), id="scheme-v3"),
        pytest.param(lambda p: ".".join(["v1", *p[1:]]), id="scheme-v1-for-a-v2-value"),
        pytest.param(lambda p: ".".join(["V2", *p[1:]]), id="scheme-upper"),
        pytest.param(lambda p: ".".join(["", *p[1:]]), id="scheme-empty"),
        pytest.param(lambda p: ".".join(p[1:]), id="scheme-missing"),
        pytest.param(lambda p: ".".join([*p, "x"]), id="extra-part"),
        pytest.param(lambda p: ".".join([*p[:3], ""]), id="payload-empty"),
        pytest.param(lambda p: ".".join([*p[:2], "", p[3]]), id="wrapped-empty"),
        pytest.param(lambda p: ".".join([*p[:3], p[3][:16]]), id="payload-truncated"),
        pytest.param(lambda p: ".".join([*p[:2], p[2][:16], p[3]]), id="wrapped-truncated"),
        pytest.param(lambda p: ".".join([*p[:2], p[3], p[2]]), id="parts-swapped"),
        pytest.param(lambda p: ".".join([*p[:2], p[2].rstrip("=") + "\n", p[3]]), id="newline"),
        pytest.param(lambda p: ".".join([p[0], "01", *p[2:]]), id="version-leading-zero"),
        pytest.param(lambda p: ".".join([p[0], "\u0661", *p[2:]]), id="version-arabic-indic"),
        pytest.param(lambda p: ".".join([p[0], "", *p[2:]]), id="version-empty"),
        pytest.param(lambda p: "", id="empty"),
        pytest.param(lambda p: "...", id="dots"),
        pytest.param(lambda p: "v1.1.AAAA.AAAA", id="short-base64"),
        pytest.param(lambda p: "v1.1.====.====", id="padding-only"),
        pytest.param(lambda p: "v1.1.\u00e9\u00e9\u00e9\u00e9.AAAA", id="non-ascii"),
        pytest.param(lambda p: "4111111111111111", id="clear-number"),
    ],
)
def test_malformed_values_fail_with_decryption_failed(build):
    with pytest.raises(DecryptionFailed):
        open_(build(_valid_parts()))


@PROPERTY
@given(st.text(max_size=300))
def test_arbitrary_text_fails_with_decryption_failed(text):
    with pytest.raises(DecryptionFailed):
        open_(text)


@PROPERTY
@given(st.sampled_from(["v1", "v2"]), st.sampled_from(["1", "2"]), st.binary(max_size=80), st.binary(max_size=120))
def test_well_formed_random_bytes_fail_with_decryption_failed(two_keks, scheme, version, wrapped, payload):
    value = f"{scheme}.{version}.{base64.b64encode(wrapped).decode()}.{base64.b64encode(payload).decode()}"
    with pytest.raises(DecryptionFailed):
        open_(value)
    with pytest.raises(DecryptionFailed):
        crypto.rewrap(value, merchant_id=MERCHANT, record_id=RECORD)


def test_a_merchant_key_version_that_does_not_exist_fails():
    value = parts(seal(VISA).value)
    with pytest.raises(DecryptionFailed):
        open_(".".join([value[0], "7", *value[2:]]))


# --- values sealed before merchant keys (scheme v1) ---------------------------------------------------


def legacy(secret: CardSecret = VISA, version: str = "1", kek: bytes = KEK_1, record_id: str = RECORD) -> str:
    return legacy_seal(secret, kek_version=version, kek=kek, merchant_id=MERCHANT, record_id=record_id)


@PROPERTY
@given(secrets, ids)
def test_a_value_in_the_earlier_format_still_opens(secret, record_id):
    value = legacy(secret, record_id=record_id)
    assert open_(value, record_id=record_id) == secret
    with pytest.raises(DecryptionFailed):
        open_(value, record_id=RECORD if record_id != RECORD else RECORD[:-1] + "d")
    with pytest.raises(DecryptionFailed):
        open_(value, merchant_id=OTHER_MERCHANT, record_id=record_id)


def test_a_legacy_kek_version_missing_from_the_keyring_fails(settings):
    use_keyring(settings, {"1": KEK_1, "2": KEK_2}, "2")
    value = legacy(version="2", kek=KEK_2)
    use_keyring(settings, {"1": KEK_1}, "1")
    with pytest.raises(DecryptionFailed):
        open_(value)
    with pytest.raises(DecryptionFailed):
        crypto.rewrap(value, merchant_id=MERCHANT, record_id=RECORD)
    # The same version number bound to other key material fails too.
    use_keyring(settings, {"1": KEK_1, "2": KEK_3}, "2")
    with pytest.raises(DecryptionFailed):
        open_(value)
    use_keyring(settings, {"1": KEK_1, "2": KEK_2}, "1")
    assert open_(value) == VISA


@PROPERTY
@given(secrets)
def test_rewrap_moves_a_legacy_value_under_the_merchant_key(settings, secret):
    use_keyring(settings, {"1": KEK_1}, "1")
    old = legacy(secret)
    new = crypto.rewrap(old, merchant_id=MERCHANT, record_id=RECORD)
    assert parts(new.value)[:2] == ["v2", str(new.merchant_key_version)]
    assert new.columns()["kek_version"] == ""
    assert open_(new.value) == open_(old) == secret
    # The moved value no longer needs the legacy KEK.
    use_keyring(settings, {"9": KEK_3}, "9")
    assert open_(new.value) == secret


# --- rewrap -----------------------------------------------------------------------------------------


@PROPERTY
@given(secrets)
def test_rewrap_moves_the_data_key_to_the_active_merchant_key_and_keeps_the_ciphertext(secret):
    old = seal(secret)
    new_version = new_merchant_key()
    new = crypto.rewrap(old.value, merchant_id=MERCHANT, record_id=RECORD)
    assert (new.merchant_key_version, parts(new.value)[:2]) == (new_version, ["v2", str(new_version)])
    assert parts(new.value)[3] == parts(old.value)[3]
    assert parts(new.value)[2] != parts(old.value)[2]
    assert open_(new.value) == open_(old.value) == secret


def test_rewrap_under_the_same_version_still_opens():
    old = seal(VISA)
    new = crypto.rewrap(old.value, merchant_id=MERCHANT, record_id=RECORD)
    assert new.merchant_key_version == 1 and parts(new.value)[3] == parts(old.value)[3]
    assert open_(new.value) == VISA


# --- fingerprints -----------------------------------------------------------------------------------


@PROPERTY
@given(card_numbers)
def test_fingerprint_is_deterministic_and_scoped_to_the_merchant(number):
    mine = crypto.fingerprint(CardSecret(number), merchant_id=MERCHANT)
    assert re.fullmatch(r"1\$[0-9a-f]{64}", mine)
    assert crypto.fingerprint(CardSecret(number), merchant_id=MERCHANT) == mine
    assert crypto.fingerprint(CardSecret(number), merchant_id=OTHER_MERCHANT) != mine
    digest = mine.split("$", 1)[1]
    for unkeyed in (number, MERCHANT + number, f"{MERCHANT}\x00{number}", f"{MERCHANT}|{number}"):
        assert digest != hashlib.sha256(unkeyed.encode()).hexdigest()
    assert number not in mine


@PROPERTY
@given(card_numbers, card_numbers)
def test_different_cards_have_different_fingerprints(number, other):
    if number != other:
        assert crypto.fingerprint(CardSecret(number), merchant_id=MERCHANT) != crypto.fingerprint(
            CardSecret(other), merchant_id=MERCHANT
        )


def test_fingerprint_depends_on_the_fingerprint_key_only(settings):
    number = VISA.number
    before = crypto.fingerprint(CardSecret(number), merchant_id=MERCHANT)
    # Rotating KEKs and merchant keys leaves fingerprints alone, so duplicate detection survives rotation.
    use_keyring(settings, {"1": KEK_1, "2": KEK_2}, "2")
    new_merchant_key()
    assert crypto.fingerprint(CardSecret(number), merchant_id=MERCHANT) == before
    settings.VAULT_FINGERPRINT_KEYS = {"1": FINGERPRINT_2}
    changed = crypto.fingerprint(CardSecret(number), merchant_id=MERCHANT)
    assert changed.startswith("1$") and changed != before


def test_fingerprint_uses_the_newest_fingerprint_key(settings):
    settings.VAULT_FINGERPRINT_KEYS = {"1": FINGERPRINT_1, "2": FINGERPRINT_2, "10": key("fingerprint-10")}
    value = crypto.fingerprint(VISA, merchant_id=MERCHANT)
    assert value.startswith("10$")
    settings.VAULT_FINGERPRINT_KEYS = {"10": key("fingerprint-10")}
    assert crypto.fingerprint(VISA, merchant_id=MERCHANT) == value


# --- masked CardSecret ------------------------------------------------------------------------------


def _rendered(secret: CardSecret) -> list[str]:
    """The ways a secret ends up as text: repr, str, f-strings, containers and a log line."""
    log_line = logging.LogRecord("vault", logging.INFO, __file__, 1, "card %s", (secret,), None).getMessage()
    return [repr(secret), str(secret), f"{secret}", f"{secret!r}", format(secret), str([secret]), log_line]


@PROPERTY
@given(secrets)
def test_card_secret_prints_no_more_than_half_of_the_digits(secret):
    for text in _rendered(secret):
        for clear in filter(None, (secret.number, secret.token_number)):
            assert clear not in text
            assert cards.mask(clear) in text
        for run in re.findall(r"[0-9*]{12,}", text):
            assert sum(char in DIGITS for char in run) <= len(run) / 2
        assert len(re.findall(r"[0-9*]{12,}", text)) == (2 if secret.token_number else 1)


def test_card_secret_repr_example():
    secret = CardSecret("4111111111111111", token_number="5555555555554444")
    assert repr(secret) == "CardSecret(number='4111********1111', token_number='5555********4444')"
    assert str(CardSecret("378282246310005")) == "CardSecret(number='378********0005')"
