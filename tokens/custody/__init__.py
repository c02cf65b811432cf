"""Root keys: the top of the key hierarchy, held by a key provider.

    root key (provider)  →  merchant key (tokens.MerchantKey, stored only wrapped by the root key)
                         →  data key per card (wrapped by the merchant key)  →  card data

A provider wraps and unwraps merchant keys; with `pkcs11` and `aws-kms` the root key never leaves
the HSM or KMS. VAULT_KEY_PROVIDER picks the provider that wraps new merchant keys; a merchant key
names the provider and root version that wrapped it, so keys wrapped by another configured provider
still open (which is how an installation moves from `local` to an HSM without downtime).
"""

import os
import threading
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from tokens.keys import KeyProviderUnavailable

PROVIDERS = ("local", "pkcs11", "aws-kms")


class RootKeyProvider(Protocol):
    name: str

    def active_version(self) -> str:
        """The version of the root key that wraps new merchant keys (a keyring version, an HSM key
        label, a KMS key ARN)."""
        ...

    def wrap(self, key: bytes, context: dict[str, str]) -> tuple[str, bytes]:
        """Encrypt *key* under the active root key, bound to *context*; answer (root version, blob)."""
        ...

    def unwrap(self, version: str, blob: bytes, context: dict[str, str]) -> bytes:
        """Open a blob that *wrap* made under root *version* with the same *context*.

        Raises DecryptionFailed when the blob does not open, KeyProviderUnavailable when the provider
        cannot be reached."""
        ...


def _configuration(name: str) -> tuple:
    """What a provider is built from: a change (a test's override, say) builds a new one."""
    if name == "local":
        return (tuple(sorted(settings.VAULT_KEYRING)), settings.VAULT_ACTIVE_KEK, id(settings.VAULT_KEYRING))
    if name == "pkcs11":
        return (settings.VAULT_PKCS11_MODULE, settings.VAULT_PKCS11_TOKEN_LABEL, settings.VAULT_PKCS11_KEY_LABEL)
    if name == "aws-kms":
        return (settings.VAULT_KMS_KEY_ID, settings.VAULT_KMS_REGION, settings.VAULT_KMS_ENDPOINT_URL)
    raise KeyProviderUnavailable(f"key provider {name[:32]!r} is not known to this instance")


def _build(name: str) -> RootKeyProvider:
    if name == "local":
        from tokens.custody.local import LocalRoot

        return LocalRoot()
    if name == "pkcs11":
        from tokens.custody.pkcs11 import Pkcs11Root

        return Pkcs11Root.from_settings()
    from tokens.custody.aws_kms import KmsRoot

    return KmsRoot.from_settings()


_lock = threading.Lock()
_providers: dict[str, tuple[tuple, RootKeyProvider]] = {}


def root_provider(name: str | None = None) -> RootKeyProvider:
    """The provider *name* (by default VAULT_KEY_PROVIDER), one per process and configuration: an HSM
    session or a KMS client is opened once, in the process that uses it (never before a fork)."""
    name = name or settings.VAULT_KEY_PROVIDER
    configuration = _configuration(name)
    with _lock:
        cached = _providers.get(name)
        if cached is None or cached[0] != configuration:
            try:
                cached = (configuration, _build(name))
            except ImproperlyConfigured as exc:
                raise KeyProviderUnavailable(f"key provider {name!r} is not configured here: {exc}") from None
            _providers[name] = cached
        return cached[1]


def forget_providers() -> None:
    """Drop every provider (and its session or client): for tests, and after a fork."""
    with _lock:
        _providers.clear()


def probe(name: str | None = None) -> bool:
    """Whether the provider wraps and opens a random value now; False, never an exception, when not."""
    value = os.urandom(32)
    context = {"purpose": "probe"}
    try:
        provider = root_provider(name)
        version, blob = provider.wrap(value, context)
        return provider.unwrap(version, blob, context) == value
    except Exception:  # readiness reports any failure as "not ready"
        return False
