"""The one module that encrypts, decrypts and holds plaintext card numbers.

Envelope encryption under a three-level hierarchy (tokens/custody/): each record's card data is
sealed with AES-256-GCM under a fresh data key (DEK); the DEK is wrapped with AES-256-GCM under the
merchant's key (tokens/merchant_keys.py), itself stored only wrapped by the root key of a key
provider. Associated data binds each ciphertext to its scheme, purpose, merchant, record and key
version, length-prefixed (core.encoding.encode_fields), so a ciphertext copied into another row fails
to open. The stored value describes itself:

    v2.<merchant key version>.<base64 wrap nonce + wrapped DEK>.<base64 nonce + ciphertext>

Values sealed before merchant keys existed read `v1.<legacy KEK version>.…`, their DEK wrapped
directly under a key of VAULT_KEYRING; they keep opening, and `rotate_keys` moves them to v2.

Plaintext leaves this module only inside CardSecret, a frozen dataclass whose repr and str are
masked and which answers what services need (isin, last4, network, masked) without giving the
digits. The few readers of the number itself are named here, and nowhere else reads it:

- this module (sealing, opening, fingerprints);
- tokens/network/client.py, which sends the number to the token service to provision a token;
- api/payment_methods/serializers.py, which renders the full card or token number to a caller with
  the reveal scope (the raw card of a reveal, the token of get-token);
- proxy/token_values.py, which substitutes the number (a stored CVC, `CvcSecret.cvc`, and the
  fields of a generic token, `TokenData.document`) into a request the proxy sends to one of the
  merchant's approved destinations.
"""

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass, fields
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.views.decorators.debug import sensitive_variables

from core.card_numbers import detect_network
from core.encoding import encode_fields
from tokens import cards, merchant_keys
from tokens.keys import DecryptionFailed, UnknownKeyVersion, key_provider

LEGACY_SCHEME = "v1"
SCHEME = "v2"
NONCE_BYTES = 12


@dataclass(frozen=True, slots=True)
class CardSecret:
    """Card data that only the vault may see. Printing it shows a masked number, never the digits."""

    number: str
    token_number: str | None = None  # a network token's number, once one is provisioned

    @property
    def isin(self) -> str:
        """The leading digits that may show beside the last four: never more than half the number."""
        return cards.isin(self.number)

    @property
    def last4(self) -> str:
        return cards.last4(self.number)

    @property
    def network(self) -> str | None:
        """The network whose IIN range holds the number, or None."""
        return detect_network(self.number)

    @property
    def masked(self) -> str:
        return cards.mask(self.number)

    def with_network_token(self, token_number: str) -> "CardSecret":
        """The same card, now also holding its network token's number."""
        return CardSecret(number=self.number, token_number=token_number)

    def __repr__(self) -> str:
        masked = ", ".join(
            f"{field.name}={cards.mask(value)!r}" for field in fields(self) if (value := getattr(self, field.name))
        )
        return f"CardSecret({masked})"

    __str__ = __repr__

    def to_bytes(self) -> bytes:
        return json.dumps({"n": self.number, "t": self.token_number}, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> "CardSecret":
        data = json.loads(raw)
        return cls(number=data["n"], token_number=data.get("t"))


@dataclass(frozen=True, slots=True)
class CvcSecret:
    """A card verification code, kept only until authorisation. Printing it shows nothing of it."""

    cvc: str

    def __repr__(self) -> str:
        return "CvcSecret(***)"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class TokenData:
    """A generic token's JSON value. Printing it shows nothing of it."""

    document: Any

    def __repr__(self) -> str:
        return "TokenData(***)"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class Sealed:
    value: str
    merchant_key_version: int

    def columns(self) -> dict[str, object]:
        """The payment method's columns for this value (a v2 value names no legacy KEK)."""
        return {"sealed_card": self.value, "kek_version": "", "merchant_key_version": self.merchant_key_version}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _strict_b64decode(text: str) -> bytes:
    """Decode canonical base64 only: the decoder alone would take extra padding and stray low bits,
    so two spellings of one value would both open."""
    data = base64.b64decode(text, validate=True)
    if _b64(data) != text:
        raise ValueError("not canonical base64")
    return data


def _parse(value: str) -> tuple[str, str, bytes, bytes]:
    try:
        scheme, version, wrapped, payload = value.split(".")
        if scheme not in (SCHEME, LEGACY_SCHEME) or not version.isdigit() or not version.isascii():
            raise ValueError(scheme)
        return scheme, version, _strict_b64decode(wrapped), _strict_b64decode(payload)
    except ValueError:
        raise DecryptionFailed("not a sealed value of a known scheme") from None


def _aad(purpose: str, merchant_id: str, record_id: str, key_version: str) -> bytes:
    return encode_fields(SCHEME, purpose, merchant_id, record_id, key_version)


def _legacy_aad(merchant_id: str, record_id: str, purpose: str, kek_version: str = "") -> bytes:
    """The associated data of v1 values, as they were sealed (only ever opened now)."""
    return "|".join((LEGACY_SCHEME, purpose, merchant_id, record_id, kek_version)).encode()


def wrap_key(kek: bytes, key: bytes, aad: bytes) -> bytes:
    """AES-256-GCM of a key under a key-encryption key held in memory (the `local` root provider)."""
    return _gcm_seal(kek, key, aad)


def unwrap_key(kek: bytes, wrapped: bytes, aad: bytes) -> bytes:
    return _gcm_open(kek, wrapped, aad, "merchant key")


def _gcm_open(key: bytes, sealed: bytes, aad: bytes, what: str) -> bytes:
    try:
        return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
    except (InvalidTag, ValueError):
        raise DecryptionFailed(f"the {what} could not be decrypted") from None


def _gcm_seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


@sensitive_variables("dek", "merchant_key")
def _wrap(dek: bytes, merchant_id: str, record_id: str) -> tuple[int, bytes]:
    version, merchant_key = merchant_keys.active_key(merchant_id)
    return version, _gcm_seal(merchant_key, dek, _aad("dek", merchant_id, record_id, str(version)))


@sensitive_variables("kek", "merchant_key")
def _unwrap(scheme: str, version: str, wrapped: bytes, merchant_id: str, record_id: str) -> bytes:
    if scheme == SCHEME:
        merchant_key = merchant_keys.merchant_key(merchant_id, int(version))
        return _gcm_open(merchant_key, wrapped, _aad("dek", merchant_id, record_id, version), "data key")
    try:
        kek = key_provider().kek(version)
    except UnknownKeyVersion:
        # The version names the cause (a keyring missing a key still in use); it is not secret.
        raise DecryptionFailed(f"key-encryption key version {version[:16]!r} is not in this keyring") from None
    return _gcm_open(kek, wrapped, _legacy_aad(merchant_id, record_id, "dek", version), "data key")


def _card_aad(scheme: str, merchant_id: str, record_id: str) -> bytes:
    if scheme == SCHEME:
        return _aad("card", merchant_id, record_id, "")
    return _legacy_aad(merchant_id, record_id, "card")


@sensitive_variables("secret", "dek")
def seal(secret: CardSecret, *, merchant_id: str, record_id: str) -> Sealed:
    """Encrypt *secret* for one record of one merchant under a fresh data key."""
    return _seal_v2(secret.to_bytes(), "card", merchant_id, record_id)


@sensitive_variables("plaintext", "dek")
def _seal_v2(plaintext: bytes, purpose: str, merchant_id: str, record_id: str) -> Sealed:
    """*plaintext* under a fresh data key wrapped by the merchant's active key; the associated data
    names the purpose, so a value sealed for one purpose never opens as another."""
    dek = AESGCM.generate_key(bit_length=256)
    payload = _gcm_seal(dek, plaintext, _aad(purpose, merchant_id, record_id, ""))
    version, wrapped = _wrap(dek, merchant_id, record_id)
    return Sealed(value=f"{SCHEME}.{version}.{_b64(wrapped)}.{_b64(payload)}", merchant_key_version=version)


@sensitive_variables("dek")
def _open_v2(value: str, purpose: str, merchant_id: str, record_id: str, what: str) -> bytes:
    scheme, version, wrapped, payload = _parse(value)
    if scheme != SCHEME:
        raise DecryptionFailed(f"a {what} is only ever sealed in the current scheme")
    dek = _unwrap(scheme, version, wrapped, merchant_id, record_id)
    return _gcm_open(dek, payload, _aad(purpose, merchant_id, record_id, ""), what)


@sensitive_variables("dek", "plaintext")
def open_sealed(value: str, *, merchant_id: str, record_id: str) -> CardSecret:
    """Decrypt a sealed value of this record, or raise DecryptionFailed (KeyProviderUnavailable when
    the key provider cannot be asked for the merchant key now)."""
    scheme, version, wrapped, payload = _parse(value)
    dek = _unwrap(scheme, version, wrapped, merchant_id, record_id)
    plaintext = _gcm_open(dek, payload, _card_aad(scheme, merchant_id, record_id), "card data")
    return CardSecret.from_bytes(plaintext)


def _cvc_record(record_id: str) -> str:
    # Its own record name: a CVC's data key can never be taken for the card's, nor the other way round.
    return f"{record_id}/cvc"


@sensitive_variables("cvc")
def seal_cvc(cvc: CvcSecret, *, merchant_id: str, record_id: str) -> Sealed:
    """Encrypt a CVC under a data key of its own, wrapped by the merchant key like a card's."""
    return _seal_v2(cvc.cvc.encode(), "cvc", merchant_id, _cvc_record(record_id))


def open_cvc(value: str, *, merchant_id: str, record_id: str) -> CvcSecret:
    return CvcSecret(cvc=_open_v2(value, "cvc", merchant_id, _cvc_record(record_id), "CVC").decode())


@sensitive_variables("data")
def seal_token_data(data: TokenData, *, merchant_id: str, record_id: str) -> Sealed:
    """Encrypt a generic token's JSON under a data key of its own, wrapped by the merchant key."""
    plaintext = json.dumps(data.document, separators=(",", ":"), ensure_ascii=False).encode()
    return _seal_v2(plaintext, "token", merchant_id, record_id)


def open_token_data(value: str, *, merchant_id: str, record_id: str) -> TokenData:
    return TokenData(document=json.loads(_open_v2(value, "token", merchant_id, record_id, "generic token")))


@sensitive_variables("dek", "secret")
def rewrap(value: str, *, merchant_id: str, record_id: str) -> Sealed:
    """Bring a sealed value under the merchant's active key. A v2 value keeps its card ciphertext and
    only has its data key re-wrapped; a v1 value is sealed afresh as v2 (its associated data differs)."""
    scheme, version, wrapped, payload = _parse(value)
    dek = _unwrap(scheme, version, wrapped, merchant_id, record_id)
    if scheme == LEGACY_SCHEME:
        secret = CardSecret.from_bytes(_gcm_open(dek, payload, _card_aad(scheme, merchant_id, record_id), "card data"))
        return seal(secret, merchant_id=merchant_id, record_id=record_id)
    new_version, new_wrapped = _wrap(dek, merchant_id, record_id)
    return Sealed(value=f"{SCHEME}.{new_version}.{_b64(new_wrapped)}.{_b64(payload)}", merchant_key_version=new_version)


@sensitive_variables("card")
def fingerprint(card: CardSecret, *, merchant_id: str, version: str | None = None) -> str:
    """A keyed fingerprint of a card number, scoped to one merchant: `<key version>$<hex HMAC-SHA256>`.

    Made with the newest fingerprint key unless *version* names another.
    """
    version, key = key_provider().fingerprint_key(version)
    digest = hmac.new(key, f"{merchant_id}\x00{card.number}".encode(), hashlib.sha256).hexdigest()
    return f"{version}${digest}"


def fingerprint_candidates(card: CardSecret, *, merchant_id: str) -> list[str]:
    """The card's fingerprint under every configured fingerprint key, oldest first (so the last is the
    newest): while a fingerprint-key rotation runs, a stored record may still carry an older one."""
    provider = key_provider()
    return [fingerprint(card, merchant_id=merchant_id, version=v) for v in provider.fingerprint_versions()]


def current_fingerprint_version() -> str:
    return key_provider().fingerprint_key()[0]
