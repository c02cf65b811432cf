"""Checks the settings module runs on values read from the environment.

Kept apart from settings.py so that tests can call them directly.
"""

import base64
import binascii
import re

from django.core.exceptions import ImproperlyConfigured

MIN_SECRET_LENGTH = 32
MIN_DISTINCT_CHARACTERS = 12
# Values people paste from tutorials; a vault must refuse to start with them.
_PLACEHOLDER_MARKERS = ("django-insecure", "changeme", "change-me", "secret", "example", "xxxx")
CELL_ID_RE = re.compile(r"[A-Za-z0-9]{2}", re.ASCII)


def check_secret(name: str, value: str | None) -> str:
    """Return *value* if it is a strong secret, else raise ImproperlyConfigured naming *name*."""
    if not value:
        raise ImproperlyConfigured(
            f"{name} is not set. In production, set it in the environment (README, Configuration); "
            "for development on this machine only, `make env` writes a .env."
        )
    if len(value) < MIN_SECRET_LENGTH:
        raise ImproperlyConfigured(f"{name} is too short: use at least {MIN_SECRET_LENGTH} random characters.")
    if len(set(value)) < MIN_DISTINCT_CHARACTERS:
        raise ImproperlyConfigured(f"{name} is too weak: it repeats too few characters to be random.")
    lowered = value.lower()
    if any(marker in lowered for marker in _PLACEHOLDER_MARKERS):
        raise ImproperlyConfigured(f"{name} looks like a placeholder: generate a random value.")
    return value


def check_cell_id(value: str) -> str:
    """Return *value* if it is a two-character alphanumeric cell id."""
    if not CELL_ID_RE.fullmatch(value):
        raise ImproperlyConfigured("VAULT_CELL_ID must be exactly two ASCII letters or digits.")
    return value


def check_api_prefixes(values: list[str]) -> list[str]:
    """Return the upstream-compatible route prefixes; only v1 and v2 exist upstream."""
    prefixes = [value.strip() for value in values if value.strip()]
    unknown = sorted(set(prefixes) - {"v1", "v2"})
    if unknown:
        raise ImproperlyConfigured(f"VAULT_API_PREFIXES may only name v1 and v2, not {', '.join(unknown)}.")
    return prefixes


KEY_BYTES = 32
_KEY_VERSION_RE = re.compile(r"[0-9]{1,6}", re.ASCII)


def parse_keyring(name: str, value: str | None) -> dict[str, bytes]:
    """Parse `version:base64key,…` into {version: 32-byte key}; refuse anything missing or weak."""
    if not value:
        raise ImproperlyConfigured(
            f"{name} is not set. In production, set it in the environment (README, Configuration); "
            "for development on this machine only, `make env` writes a .env."
        )
    keyring: dict[str, bytes] = {}
    for entry in value.split(","):
        version, sep, encoded = entry.strip().partition(":")
        if not sep or not _KEY_VERSION_RE.fullmatch(version):
            raise ImproperlyConfigured(f"{name}: each entry must read `<version number>:<base64 key>`.")
        text = encoded.strip().replace("-", "+").replace("_", "/")
        try:
            material = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise ImproperlyConfigured(f"{name}: key version {version} is not valid base64.") from None
        if len(material) != KEY_BYTES:
            raise ImproperlyConfigured(f"{name}: key version {version} must be {KEY_BYTES} bytes (256 bits).")
        if len(set(material)) < 16:
            raise ImproperlyConfigured(f"{name}: key version {version} is too weak to be random.")
        if str(int(version)) in keyring:
            raise ImproperlyConfigured(f"{name}: key version {version} appears twice.")
        if material in keyring.values():
            raise ImproperlyConfigured(f"{name}: two versions share the same key material.")
        keyring[str(int(version))] = material
    return keyring


def newest_version(keyring: dict[str, bytes]) -> str:
    return max(keyring, key=int)


def check_key_provider(name: str, *, pkcs11: tuple[str, str, str, str], kms_key_id: str) -> None:
    """Refuse to start with a key provider that lacks what it needs (never a silent fallback)."""
    if name == "pkcs11" and not all(pkcs11):
        raise ImproperlyConfigured(
            "VAULT_KEY_PROVIDER=pkcs11 needs VAULT_PKCS11_MODULE, VAULT_PKCS11_TOKEN_LABEL, "
            "VAULT_PKCS11_KEY_LABEL and VAULT_PKCS11_PIN or VAULT_PKCS11_PIN_FILE."
        )
    if name == "aws-kms" and not kms_key_id:
        raise ImproperlyConfigured("VAULT_KEY_PROVIDER=aws-kms needs VAULT_KMS_KEY_ID.")


def env_file_declares(path: str, name: str) -> str | None:
    """The value *path* (a .env file) gives *name*, or None: read without loading the file."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        return None
    value = None
    for line in lines:
        key, sep, raw = line.strip().removeprefix("export ").partition("=")
        if sep and key.strip() == name:
            value = raw.strip().strip("'\"")
    return value


def check_env_file(path: str, process_env: str | None) -> None:
    """Refuse a development .env under VAULT_ENV=production: its secrets were made on a laptop, and a
    host that lost its VAULT_ENV would otherwise run in development mode without a word."""
    if process_env == "production" and env_file_declares(path, "VAULT_ENV") == "development":
        raise ImproperlyConfigured(
            f"VAULT_ENV=production, but {path} is a development file (`make env` wrote it). In production, "
            "set the settings in the environment and VAULT_ENV_FILE= (empty) to read no file, or point "
            "VAULT_ENV_FILE at a production file."
        )
