"""The keyring: versioned key-encryption keys and fingerprint keys, validated at start-up by settings.

A provider answers: which KEK encrypts now, the KEK of a given version, and the fingerprint
keys (the newest makes new fingerprints; older ones still recognise cards until rotation
recomputes them). The local provider reads them from the environment (VAULT_KEYRING,
VAULT_FINGERPRINT_KEYS); an external KMS would implement the same methods.
"""

from dataclasses import dataclass
from typing import Protocol

from django.conf import settings


class UnknownKeyVersion(LookupError):
    """A ciphertext names a KEK version the keyring no longer holds."""


class KeyProviderUnavailable(RuntimeError):
    """The key provider cannot answer now (an external KMS down, say): the request may be retried."""


class KeyProvider(Protocol):
    def active_kek(self) -> tuple[str, bytes]: ...

    def kek(self, version: str) -> bytes: ...

    def fingerprint_key(self, version: str | None = None) -> tuple[str, bytes]: ...

    def fingerprint_versions(self) -> list[str]: ...


@dataclass(frozen=True, repr=False)
class LocalKeyring:
    keks: dict[str, bytes]
    active_version: str
    fingerprint_keys: dict[str, bytes]

    def __repr__(self) -> str:
        return f"LocalKeyring(kek_versions={sorted(self.keks)}, active={self.active_version!r})"

    def active_kek(self) -> tuple[str, bytes]:
        return self.active_version, self.keks[self.active_version]

    def kek(self, version: str) -> bytes:
        try:
            return self.keks[version]
        except KeyError:
            raise UnknownKeyVersion(version) from None

    def fingerprint_key(self, version: str | None = None) -> tuple[str, bytes]:
        """The fingerprint key of *version*, by default the newest (the one new fingerprints use)."""
        version = version or max(self.fingerprint_keys, key=int)
        try:
            return version, self.fingerprint_keys[version]
        except KeyError:
            raise UnknownKeyVersion(version) from None

    def fingerprint_versions(self) -> list[str]:
        return sorted(self.fingerprint_keys, key=int)


def key_provider() -> KeyProvider:
    """The configured provider, built from settings on each call so overrides in tests apply."""
    return LocalKeyring(
        keks=settings.VAULT_KEYRING,
        active_version=settings.VAULT_ACTIVE_KEK,
        fingerprint_keys=settings.VAULT_FINGERPRINT_KEYS,
    )
