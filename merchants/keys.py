"""API-key format and hashing.

A key reads `vlt_<key id>_<secret>`: the prefix lets secret scanners and people recognise it, the
key id (public) finds the row, and the secret (256 random bits) is checked against an HMAC-SHA256
digest under the server pepper, compared in constant time.
"""

import hashlib
import hmac
import re
import secrets
import string

from django.conf import settings

from core.ids import API_KEY_PREFIX

KEY_PREFIX = API_KEY_PREFIX
KEY_ID_LENGTH = 16
SECRET_BYTES = 32
HASH_ALGORITHM = "hmac_sha256"
_KEY_RE = re.compile(rf"{KEY_PREFIX}([a-z0-9]{{{KEY_ID_LENGTH}}})_([A-Za-z0-9_-]{{43}})", re.ASCII)
_KEY_ID_ALPHABET = string.ascii_lowercase + string.digits


def generate_key() -> tuple[str, str]:
    """Return a new (key id, full plaintext key)."""
    key_id = "".join(secrets.choice(_KEY_ID_ALPHABET) for _ in range(KEY_ID_LENGTH))
    return key_id, f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(SECRET_BYTES)}"


def parse_key_id(plaintext: str) -> str | None:
    """Return the key id of a well-formed key, or None."""
    match = _KEY_RE.fullmatch(plaintext)
    return match.group(1) if match else None


def hash_key(plaintext: str) -> str:
    digest = hmac.new(settings.VAULT_API_KEY_PEPPER.encode(), plaintext.encode(), hashlib.sha256).hexdigest()
    return f"{HASH_ALGORITHM}${digest}"


def key_matches(plaintext: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_key(plaintext), stored_hash)
