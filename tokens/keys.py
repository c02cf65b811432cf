"""Key material the vault holds itself, and the errors every key layer shares.

- Legacy KEKs (VAULT_KEYRING): before merchant keys existed, each card's data key was wrapped
  directly under one of them (values of scheme `v1`). They still open those values until
  `rotate_keys` moves them under merchant keys; with the `local` key provider they are also the root
  keys that wrap merchant keys (see tokens/custody/).
- Fingerprint keys (VAULT_FINGERPRINT_KEYS): the newest makes new fingerprints; older ones still
  recognise cards until rotation recomputes them.
"""

from dataclasses import dataclass

from django.conf import settings


class UnknownKeyVersion(LookupError):
    """A ciphertext names a key version this instance does not hold."""


class KeyProviderUnavailable(RuntimeError):
    """The key provider cannot answer now (an HSM or KMS unreachable, say): the request may be retried."""


class DecryptionFailed(Exception):
    """A sealed value could not be opened: tampered, moved to another record, or its key is gone."""


@dataclass(frozen=True, repr=False)
class LocalKeyring:
    keks: dict[str, bytes]
    active_version: str
    fingerprint_keys: dict[str, bytes]

    def __repr__(self) -> str:
        return f"LocalKeyring(kek_versions={sorted(self.keks)}, active={self.active_version!r})"

    def active_kek(self) -> tuple[str, bytes]:
        try:
            return self.active_version, self.keks[self.active_version]
        except KeyError:
            raise UnknownKeyVersion(self.active_version) from None

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


def key_provider() -> LocalKeyring:
    """The keyring from settings, built on each call so overrides in tests apply."""
    return LocalKeyring(
        keks=settings.VAULT_KEYRING,
        active_version=settings.VAULT_ACTIVE_KEK,
        fingerprint_keys=settings.VAULT_FINGERPRINT_KEYS,
    )
