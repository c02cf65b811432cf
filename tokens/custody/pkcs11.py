"""The `pkcs11` root: an AES-256 key inside a PKCS#11 token (an HSM; SoftHSM2 in the tests).

The key is generated in the token (`manage.py create_root_key`), marked sensitive and not
extractable; the vault only asks the token to encrypt or decrypt a merchant key with it
(AES-GCM, the context as associated data). The root version is the key's label, so a root rotation
is a new key with a new label (VAULT_PKCS11_KEY_LABEL) beside the old one.

One logged-in session per process, opened on first use (after gunicorn's fork), used under a lock.
A session the token has dropped is reopened on the next call.
"""

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pkcs11
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11 import exceptions as p11
from pkcs11.mechanisms import GCMParams

from tokens.custody.local import context_aad
from tokens.keys import DecryptionFailed, KeyProviderUnavailable, UnknownKeyVersion

NONCE_BYTES = 12
TAG_BITS = 128
# The token refused the ciphertext: altered, or bound to another context.
_REFUSED = (p11.EncryptedDataInvalid, p11.EncryptedDataLenRange, p11.GeneralError, p11.DataLenRange)


def read_pin() -> str:
    """The user PIN, from VAULT_PKCS11_PIN or the file VAULT_PKCS11_PIN_FILE names (trailing newline ignored)."""
    if settings.VAULT_PKCS11_PIN_FILE:
        try:
            return Path(settings.VAULT_PKCS11_PIN_FILE).read_text().rstrip("\r\n")
        except OSError as exc:
            raise ImproperlyConfigured(f"VAULT_PKCS11_PIN_FILE cannot be read ({exc.strerror})") from None
    if settings.VAULT_PKCS11_PIN:
        return settings.VAULT_PKCS11_PIN
    raise ImproperlyConfigured("set VAULT_PKCS11_PIN or VAULT_PKCS11_PIN_FILE")


class Pkcs11Root:
    name = "pkcs11"

    def __init__(self, *, module: str, token_label: str, key_label: str, pin: str) -> None:
        self.module, self.token_label, self.key_label = module, token_label, key_label
        self._pin = pin
        self._lock = threading.Lock()
        self._session: Any = None
        self._keys: dict[str, Any] = {}
        self._pid = os.getpid()

    def __repr__(self) -> str:
        return f"Pkcs11Root(token={self.token_label!r}, key={self.key_label!r})"

    @classmethod
    def from_settings(cls) -> "Pkcs11Root":
        missing = [
            name
            for name in ("VAULT_PKCS11_MODULE", "VAULT_PKCS11_TOKEN_LABEL", "VAULT_PKCS11_KEY_LABEL")
            if not getattr(settings, name)
        ]
        if missing:
            raise ImproperlyConfigured(f"{', '.join(missing)} must be set for VAULT_KEY_PROVIDER=pkcs11")
        return cls(
            module=settings.VAULT_PKCS11_MODULE,
            token_label=settings.VAULT_PKCS11_TOKEN_LABEL,
            key_label=settings.VAULT_PKCS11_KEY_LABEL,
            pin=read_pin(),
        )

    def active_version(self) -> str:
        return self.key_label

    def _open(self) -> Any:
        """The session, opened if needed. Caller holds the lock."""
        if self._session is None or self._pid != os.getpid():
            try:
                token = pkcs11.lib(self.module).get_token(token_label=self.token_label)
                try:
                    self._session = token.open(user_pin=self._pin, rw=True)
                except p11.UserAlreadyLoggedIn:
                    # Login is per process: another session of this process already holds it.
                    self._session = token.open(rw=True)
            except (p11.PKCS11Error, RuntimeError, OSError) as exc:
                raise KeyProviderUnavailable(f"the PKCS#11 token cannot be opened ({type(exc).__name__})") from None
            self._keys.clear()
            self._pid = os.getpid()
        return self._session

    def _key(self, label: str) -> Any:
        if label not in self._keys:
            try:
                self._keys[label] = self._open().get_key(
                    label=label, key_type=KeyType.AES, object_class=ObjectClass.SECRET_KEY
                )
            except p11.NoSuchKey:
                raise UnknownKeyVersion(label) from None
        return self._keys[label]

    def _call(self, label: str, operation: Callable[[Any], Any]) -> Any:
        """Run *operation* on the key *label* under the lock; a lost session is dropped so the next
        call reopens it, and answers KeyProviderUnavailable now."""
        with self._lock:
            try:
                return operation(self._key(label))
            except _REFUSED:
                raise
            except p11.PKCS11Error as exc:
                self._session = None
                raise KeyProviderUnavailable(f"the PKCS#11 token failed ({type(exc).__name__})") from None

    def wrap(self, key: bytes, context: dict[str, str]) -> tuple[str, bytes]:
        nonce = os.urandom(NONCE_BYTES)
        params = GCMParams(nonce, context_aad(context), TAG_BITS)
        try:
            blob = self._call(
                self.key_label, lambda k: k.encrypt(key, mechanism=Mechanism.AES_GCM, mechanism_param=params)
            )
        except UnknownKeyVersion:
            raise KeyProviderUnavailable(f"the token holds no key labelled {self.key_label!r}") from None
        except _REFUSED as exc:
            raise KeyProviderUnavailable(f"the token refused to encrypt ({type(exc).__name__})") from None
        return self.key_label, nonce + bytes(blob)

    def unwrap(self, version: str, blob: bytes, context: dict[str, str]) -> bytes:
        params = GCMParams(blob[:NONCE_BYTES], context_aad(context), TAG_BITS)
        try:
            plain = self._call(
                version,
                lambda k: k.decrypt(blob[NONCE_BYTES:], mechanism=Mechanism.AES_GCM, mechanism_param=params),
            )
        except UnknownKeyVersion:
            raise DecryptionFailed(f"the token holds no root key labelled {version[:64]!r}") from None
        except _REFUSED:
            raise DecryptionFailed("the merchant key could not be unwrapped") from None
        return bytes(plain)


def generate_root_key(provider: Pkcs11Root, label: str) -> None:
    """Generate an AES-256 root key inside the token: sensitive, never extractable, for GCM only."""
    with provider._lock:
        session = provider._open()
        try:
            session.get_key(label=label, key_type=KeyType.AES, object_class=ObjectClass.SECRET_KEY)
        except p11.NoSuchKey:
            pass
        else:
            raise ValueError(f"the token already holds a key labelled {label!r}")
        session.generate_key(
            KeyType.AES,
            256,
            label=label,
            store=True,
            template={
                Attribute.SENSITIVE: True,
                Attribute.EXTRACTABLE: False,
                Attribute.ENCRYPT: True,
                Attribute.DECRYPT: True,
                Attribute.WRAP: False,
                Attribute.UNWRAP: False,
                Attribute.SIGN: False,
                Attribute.VERIFY: False,
            },
        )
