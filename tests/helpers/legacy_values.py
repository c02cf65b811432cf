"""Values in the format stored before merchant keys existed (scheme v1), made the way that version
of the vault made them, so the tests can show they keep opening and that rotation moves them on.

    v1.<KEK version>.<base64 nonce + DEK wrapped under VAULT_KEYRING[version]>.<base64 nonce + card ciphertext>

Associated data: `v1|<purpose>|<merchant>|<record>|<KEK version or empty>`.
"""

import base64
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tokens.crypto import CardSecret


def legacy_seal(secret: CardSecret, *, kek_version: str, kek: bytes, merchant_id: str, record_id: str) -> str:
    def aad(purpose: str, version: str = "") -> bytes:
        return "|".join(("v1", purpose, merchant_id, record_id, version)).encode()

    dek = AESGCM.generate_key(bit_length=256)
    nonce, wrap_nonce = os.urandom(12), os.urandom(12)
    payload = nonce + AESGCM(dek).encrypt(nonce, secret.to_bytes(), aad("card"))
    wrapped = wrap_nonce + AESGCM(kek).encrypt(wrap_nonce, dek, aad("dek", kek_version))
    return f"v1.{kek_version}.{base64.b64encode(wrapped).decode()}.{base64.b64encode(payload).decode()}"
