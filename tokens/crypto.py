"""The one module that encrypts, decrypts and holds plaintext card numbers.

Envelope encryption: each record's card data is sealed with AES-256-GCM under a fresh data key
(DEK); the DEK is wrapped with AES-256-GCM under a versioned key-encryption key (KEK). Associated
data binds the ciphertext to its scheme, merchant and record id, so a ciphertext copied into another
row fails to open. The stored value describes itself:

    v1.<kek version>.<base64 wrap nonce + wrapped DEK>.<base64 nonce + ciphertext>

Plaintext leaves this module only inside CardSecret, a frozen dataclass whose repr and str are
masked and which answers what services need (isin, last4, network, masked) without giving the
digits. The few readers of the number itself are named here, and nowhere else reads it:

- this module (sealing, opening, fingerprints);
- tokens/network/client.py, which sends the number to the token service to provision a token;
- api/payment_methods/serializers.py, which renders the full card or token number to a caller with
  the reveal scope (the raw card of a reveal, the token of get-token).
"""

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass, fields

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.views.decorators.debug import sensitive_variables

from core.card_numbers import detect_network
from tokens import cards
from tokens.keys import UnknownKeyVersion, key_provider

SCHEME = "v1"
NONCE_BYTES = 12


class DecryptionFailed(Exception):
    """A sealed value could not be opened: tampered, moved to another record, or its key is gone."""


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
class Sealed:
    value: str
    kek_version: str


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _aad(merchant_id: str, record_id: str, purpose: str, kek_version: str = "") -> bytes:
    return "|".join((SCHEME, purpose, merchant_id, record_id, kek_version)).encode()


def _wrap(dek: bytes, merchant_id: str, record_id: str) -> tuple[str, bytes]:
    version, kek = key_provider().active_kek()
    nonce = os.urandom(NONCE_BYTES)
    return version, nonce + AESGCM(kek).encrypt(nonce, dek, _aad(merchant_id, record_id, "dek", version))


def _strict_b64decode(text: str) -> bytes:
    """Decode canonical base64 only: the decoder alone would take extra padding and stray low bits,
    so two spellings of one value would both open."""
    data = base64.b64decode(text, validate=True)
    if _b64(data) != text:
        raise ValueError("not canonical base64")
    return data


def _parse(value: str) -> tuple[str, bytes, bytes]:
    try:
        scheme, version, wrapped, payload = value.split(".")
        if scheme != SCHEME:
            raise ValueError(scheme)
        return version, _strict_b64decode(wrapped), _strict_b64decode(payload)
    except ValueError:
        raise DecryptionFailed("not a sealed value of a known scheme") from None


def _unwrap(version: str, wrapped: bytes, merchant_id: str, record_id: str) -> bytes:
    try:
        kek = key_provider().kek(version)
    except UnknownKeyVersion:
        # The version names the cause (a keyring missing a key still in use); it is not secret.
        raise DecryptionFailed(f"key-encryption key version {version[:16]!r} is not in this keyring") from None
    try:
        aad = _aad(merchant_id, record_id, "dek", version)
        return AESGCM(kek).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], aad)
    except (InvalidTag, ValueError):
        raise DecryptionFailed("the data key could not be unwrapped") from None


@sensitive_variables("secret", "dek")
def seal(secret: CardSecret, *, merchant_id: str, record_id: str) -> Sealed:
    """Encrypt *secret* for one record of one merchant under a fresh data key."""
    dek = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(dek).encrypt(nonce, secret.to_bytes(), _aad(merchant_id, record_id, "card"))
    version, wrapped = _wrap(dek, merchant_id, record_id)
    return Sealed(value=f"{SCHEME}.{version}.{_b64(wrapped)}.{_b64(nonce + ciphertext)}", kek_version=version)


@sensitive_variables("dek", "plaintext")
def open_sealed(value: str, *, merchant_id: str, record_id: str) -> CardSecret:
    """Decrypt a sealed value of this record, or raise DecryptionFailed."""
    version, wrapped, payload = _parse(value)
    dek = _unwrap(version, wrapped, merchant_id, record_id)
    try:
        plaintext = AESGCM(dek).decrypt(
            payload[:NONCE_BYTES], payload[NONCE_BYTES:], _aad(merchant_id, record_id, "card")
        )
    except (InvalidTag, ValueError):
        raise DecryptionFailed("the card data could not be decrypted") from None
    return CardSecret.from_bytes(plaintext)


@sensitive_variables("dek")
def rewrap(value: str, *, merchant_id: str, record_id: str) -> Sealed:
    """Re-wrap the record's data key under the active KEK; the card ciphertext is kept as it is."""
    version, wrapped, payload = _parse(value)
    dek = _unwrap(version, wrapped, merchant_id, record_id)
    new_version, new_wrapped = _wrap(dek, merchant_id, record_id)
    return Sealed(value=f"{SCHEME}.{new_version}.{_b64(new_wrapped)}.{_b64(payload)}", kek_version=new_version)


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
