"""The `local` root: the keyring in VAULT_KEYRING, in this process's memory.

For development, tests and small installations. It protects the cards against a copy of the
database alone, not against anyone who can read the environment of a vault process: there the root
keys are in clear. The README and docs/KEY_MANAGEMENT.md say so.
"""

from core.encoding import encode_fields
from tokens.keys import DecryptionFailed, LocalKeyring, UnknownKeyVersion, key_provider


def context_aad(context: dict[str, str]) -> bytes:
    """The context as associated data: sorted name/value pairs, length-prefixed."""
    return encode_fields("root-wrap", *(part for name in sorted(context) for part in (name, context[name])))


class LocalRoot:
    name = "local"

    def __init__(self, keyring: LocalKeyring | None = None) -> None:
        self.keyring = keyring or key_provider()

    def active_version(self) -> str:
        return self.keyring.active_version

    def wrap(self, key: bytes, context: dict[str, str]) -> tuple[str, bytes]:
        from tokens.crypto import wrap_key  # the one module that runs AES itself

        version, kek = self.keyring.active_kek()
        return version, wrap_key(kek, key, context_aad(context))

    def unwrap(self, version: str, blob: bytes, context: dict[str, str]) -> bytes:
        try:
            kek = self.keyring.kek(version)
        except UnknownKeyVersion:
            raise DecryptionFailed(f"root key version {version[:16]!r} is not in VAULT_KEYRING") from None
        from tokens.crypto import unwrap_key

        return unwrap_key(kek, blob, context_aad(context))
