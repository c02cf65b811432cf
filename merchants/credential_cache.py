"""A short per-process memory of verified credentials, so that a busy key is not looked up twice
a request (key and profile) on every request.

Entries live VAULT_API_KEY_CACHE_SECONDS (default 5). A revocation empties the cache of the process
that made it at once, and, with REDIS_URL set, raises a shared revocation epoch in Redis that every
process compares at most every REVOCATION_CHECK_SECONDS: a key revoked anywhere stops working
everywhere within a second. Without Redis, other processes forget it within the cache's lifetime. If
Redis cannot be read, the cache is not used at all (every request verifies its key afresh) rather
than trusted blindly.

A request that began verifying a key before a revocation cannot put it back: each entry is stored
with the generation seen when its verification began, and is dropped if the cache was emptied since.
Entries are keyed by the key's HMAC digest, never by the key itself.
"""

import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings

from merchants.models import ApiKey, Profile
from merchants.redis_client import redis_client

REVOCATION_EPOCH_KEY = "vault:credentials:revocation_epoch"
REVOCATION_CHECK_SECONDS = 0.5
logger = logging.getLogger("vault.credentials")


@dataclass(frozen=True, slots=True)
class _Entry:
    api_key: ApiKey
    profile: Profile
    until: float


def announce_revocation() -> None:
    """Tell every process sharing REDIS_URL to forget the credentials it remembers (best effort:
    if Redis is down, the other processes stop using their caches until it is back)."""
    if not settings.REDIS_URL:
        return
    import redis

    try:
        redis_client(settings.REDIS_URL).incr(REVOCATION_EPOCH_KEY)
    except redis.RedisError as exc:
        logger.error("revocation could not be announced through Redis (%s)", type(exc).__name__)


def revocation_reach_seconds() -> float:
    """How soon a revocation reaches every other process: a second through Redis, else the cache's lifetime."""
    return 1.0 if settings.REDIS_URL else float(max(settings.VAULT_API_KEY_CACHE_SECONDS, 0))


class CredentialCache:
    def __init__(self, max_entries: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._max_entries = max_entries
        self._generation = 0  # raised by every clear(), here or announced by another process
        self.reset()

    def reset(self) -> None:
        """Forget everything, the shared epoch last seen included (a new REDIS_URL starts afresh)."""
        with self._lock:
            self._entries: dict[tuple[str, str], _Entry] = {}
            self._generation += 1
            self._shared_epoch: int | None = None  # the last revocation epoch read from Redis
            self._checked_at = float("-inf")
            self._usable = True

    def _follow_shared_epoch(self) -> None:
        """Read the shared revocation epoch now and then; clear when it moved, stop caching if unreadable."""
        if not settings.REDIS_URL:
            self._usable = True
            return
        now = time.monotonic()
        if now - self._checked_at < REVOCATION_CHECK_SECONDS:
            return
        import redis

        try:
            epoch = int(redis_client(settings.REDIS_URL).get(REVOCATION_EPOCH_KEY) or 0)
        except redis.RedisError:
            self._usable, self._checked_at = False, now
            self.clear()
            return
        with self._lock:
            self._checked_at, self._usable = now, True
            if self._shared_epoch is not None and epoch != self._shared_epoch:
                self._generation += 1
                self._entries.clear()
            self._shared_epoch = epoch

    def begin(self) -> int:
        """Call before verifying a credential; pass the answer to put()."""
        self._follow_shared_epoch()
        return self._generation

    def get(self, digest: str, profile_id: str) -> tuple[ApiKey, Profile] | None:
        self._follow_shared_epoch()
        if not self._usable:
            return None
        entry = self._entries.get((digest, profile_id))
        if entry is None or entry.until <= time.monotonic():
            return None
        return entry.api_key, entry.profile

    def put(
        self, digest: str, profile_id: str, api_key: ApiKey, profile: Profile, ttl: float, *, generation: int
    ) -> None:
        with self._lock:
            if generation != self._generation or not self._usable:
                return  # a revocation happened while this credential was being verified
            if len(self._entries) >= self._max_entries:
                self._entries.clear()
            self._entries[(digest, profile_id)] = _Entry(api_key, profile, time.monotonic() + ttl)

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()


credential_cache = CredentialCache()
