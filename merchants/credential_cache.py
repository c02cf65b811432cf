"""A short per-process memory of verified credentials, so that a busy key is not looked up twice
a request (key and profile) on every request.

Entries live VAULT_API_KEY_CACHE_SECONDS (default 5): a key revoked or a profile removed elsewhere
stops working within that time; a revocation in this process takes effect at once. Entries are
keyed by the key's HMAC digest, never by the key itself.
"""

import threading
import time
from dataclasses import dataclass

from merchants.models import ApiKey, Profile


@dataclass(frozen=True, slots=True)
class _Entry:
    api_key: ApiKey
    profile: Profile
    until: float


class CredentialCache:
    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._lock = threading.Lock()
        self._max_entries = max_entries

    def get(self, digest: str, profile_id: str) -> tuple[ApiKey, Profile] | None:
        entry = self._entries.get((digest, profile_id))
        if entry is None or entry.until <= time.monotonic():
            return None
        return entry.api_key, entry.profile

    def put(self, digest: str, profile_id: str, api_key: ApiKey, profile: Profile, ttl: float) -> None:
        with self._lock:
            if len(self._entries) >= self._max_entries:
                self._entries.clear()
            self._entries[(digest, profile_id)] = _Entry(api_key, profile, time.monotonic() + ttl)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


credential_cache = CredentialCache()
