"""The `aws-kms` root: a symmetric AWS KMS key; the vault only calls Encrypt and Decrypt with it.

The client lives here and nowhere else opens a connection to KMS: timeouts from
VAULT_KMS_TIMEOUT_SECONDS, at most two attempts, and every failure to reach KMS answered as
KeyProviderUnavailable (a 503), never a 500. The root version is the key's ARN as Encrypt names it,
so a new key (VAULT_KMS_KEY_ID) beside the old one is a root rotation; KMS's own yearly rotation of
a key's backing material is invisible here and needs nothing from the vault.

Credentials and region come from boto3's usual chain (AWS_* variables, instance role, …);
AWS_ENDPOINT_URL points it at a KMS-compatible endpoint (the tests use moto's server).
"""

import threading
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from tokens.keys import DecryptionFailed, KeyProviderUnavailable

# Answers that say the blob does not open with this key and context: not KMS being unavailable.
_REFUSED_CODES = frozenset({"InvalidCiphertextException", "IncorrectKeyException"})


class KmsRoot:
    name = "aws-kms"

    def __init__(self, *, key_id: str, region: str | None, endpoint_url: str | None, timeout: float) -> None:
        self.key_id = key_id
        self._client = boto3.session.Session().client(
            "kms",
            region_name=region,
            endpoint_url=endpoint_url,
            config=Config(
                connect_timeout=timeout,
                read_timeout=timeout,
                retries={"total_max_attempts": 2, "mode": "standard"},
            ),
        )
        self._arn: str | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"KmsRoot(key={self.key_id!r})"

    @classmethod
    def from_settings(cls) -> "KmsRoot":
        if not settings.VAULT_KMS_KEY_ID:
            raise ImproperlyConfigured("VAULT_KMS_KEY_ID must be set for VAULT_KEY_PROVIDER=aws-kms")
        return cls(
            key_id=settings.VAULT_KMS_KEY_ID,
            region=settings.VAULT_KMS_REGION or None,
            endpoint_url=settings.VAULT_KMS_ENDPOINT_URL or None,
            timeout=settings.VAULT_KMS_TIMEOUT_SECONDS,
        )

    def _request(self, operation: str, **arguments: Any) -> dict:
        try:
            return getattr(self._client, operation)(**arguments)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _REFUSED_CODES:
                raise DecryptionFailed("KMS refused to decrypt the merchant key") from None
            raise KeyProviderUnavailable(f"KMS answered {code or 'an error'} to {operation}") from None
        except BotoCoreError as exc:
            raise KeyProviderUnavailable(f"KMS cannot be reached ({type(exc).__name__})") from None

    def active_version(self) -> str:
        """The ARN of VAULT_KMS_KEY_ID (which may be an alias), asked of KMS once per process."""
        with self._lock:
            if self._arn is None:
                self._arn = self._request("describe_key", KeyId=self.key_id)["KeyMetadata"]["Arn"]
            return self._arn

    def wrap(self, key: bytes, context: dict[str, str]) -> tuple[str, bytes]:
        answer = self._request("encrypt", KeyId=self.key_id, Plaintext=key, EncryptionContext=context)
        return answer["KeyId"], answer["CiphertextBlob"]

    def unwrap(self, version: str, blob: bytes, context: dict[str, str]) -> bytes:
        return self._request("decrypt", KeyId=version, CiphertextBlob=blob, EncryptionContext=context)["Plaintext"]
