"""Request counters for per-key rate limits, in a store every server process shares: Redis when
REDIS_URL is set, else the database. A fixed one-minute window per bucket; the API's throttle
(api/throttling.py) decides what a bucket is and what its limit is.

Counts are taken from the store in blocks (leases) when a limit is large: a process asks for up to
limit/1000 counts at once (at most VAULT_RATE_LIMIT_LEASE) and hands them out itself, so a key at
the default 6000 a minute costs one store round trip per six requests and a key with a very large
limit one per VAULT_RATE_LIMIT_LEASE. Every count is still unique across processes and a request is
admitted only when its count is within the limit, so a key never gets more than its limit; counts
leased by a process that then goes quiet are lost for the window, so with P processes a key may be
held to as little as limit - P * (lease - 1) in a window. Once a process has seen a window's count
pass the limit it refuses the key's later requests in that window without asking the store.

When Redis cannot be reached, VAULT_RATE_LIMIT_ON_STORE_ERROR decides: `allow` (the default) lets
the request through uncounted, `deny` answers 503. Either way the outage is logged at most once a
minute, with how many requests it touched, and never becomes a 500.
"""

import logging
import threading
import time
from functools import cache
from typing import Protocol

from django.conf import settings
from django.db import connection

from core import errors
from merchants.models import RateLimitCounter
from merchants.redis_client import redis_client

WINDOW_SECONDS = 60
OUTAGE_LOG_INTERVAL_SECONDS = 60
logger = logging.getLogger("vault.rate_limits")


class RateStoreUnavailable(Exception):
    """The shared counter store did not answer; the message names the error type, nothing else."""


class RateStore(Protocol):
    def hit(self, bucket: str, window_start: int, amount: int = 1) -> int:
        """Add *amount* requests to *bucket*; return the count so far in this window."""


class DatabaseRateStore:
    """One atomic upsert per store call (PostgreSQL, and SQLite 3.35 or newer)."""

    def hit(self, bucket: str, window_start: int, amount: int = 1) -> int:
        table = connection.ops.quote_name(RateLimitCounter._meta.db_table)
        sql = (
            f"INSERT INTO {table} (bucket, window_start, count) VALUES (%s, %s, %s) "  # noqa: S608 - the model's table
            f"ON CONFLICT (bucket) DO UPDATE SET count = {table}.count + excluded.count RETURNING count"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [f"{bucket}:{window_start}", window_start, amount])
            return int(cursor.fetchone()[0])


class RedisRateStore:
    def __init__(self, url: str) -> None:
        self.client = redis_client(url)

    def hit(self, bucket: str, window_start: int, amount: int = 1) -> int:
        import redis

        key = f"vault:rate:{bucket}:{window_start}"
        try:
            # One round trip, without MULTI/EXEC: the count and its expiry need not be atomic together
            # (a key left without one expires on the next call's EXPIRE).
            pipeline = self.client.pipeline(transaction=False)
            pipeline.incrby(key, amount)
            pipeline.expire(key, WINDOW_SECONDS * 2)
            count, _ = pipeline.execute()
        except redis.RedisError as exc:
            raise RateStoreUnavailable(type(exc).__name__) from None
        return int(count)

    def reachable(self) -> bool:
        import redis

        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False


@cache
def _redis_store(url: str) -> RedisRateStore:
    return RedisRateStore(url)


def rate_store() -> RateStore:
    return _redis_store(settings.REDIS_URL) if settings.REDIS_URL else DatabaseRateStore()


class _OutageReport:
    """Counts requests that met an unreachable store; logs one line a minute at most, per process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.since_report = 0
        self.total = 0
        self.last_report = float("-inf")

    def record(self, error: RateStoreUnavailable) -> None:
        with self.lock:
            self.since_report += 1
            self.total += 1
            now = time.monotonic()
            if now - self.last_report < OUTAGE_LOG_INTERVAL_SECONDS:
                return
            count, self.since_report, self.last_report = self.since_report, 0, now
        logger.error(
            "rate-limit store unreachable (%s): %d request(s) %s since the last report, %d in all",
            error,
            count,
            "refused" if settings.VAULT_RATE_LIMIT_ON_STORE_ERROR == "deny" else "let through uncounted",
            self.total,
        )


store_outages = _OutageReport()


def lease_size(limit: int) -> int:
    """How many counts a process takes from the store at once for a key with this limit."""
    return max(1, min(settings.VAULT_RATE_LIMIT_LEASE, limit // 1000))


class _Leases:
    """Each bucket's counts leased from the store by this process: the next one to hand out and the
    last one leased, in the window they were leased in."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_bucket: dict[str, tuple[int, int, int]] = {}  # bucket -> (window_start, next, last)
        self.newest_window = 0

    def count(self, bucket: str, window_start: int, limit: int) -> int:
        with self.lock:
            if window_start > self.newest_window:
                self.newest_window = window_start
                self.by_bucket = {b: lease for b, lease in self.by_bucket.items() if lease[0] >= window_start}
            window, following, last = self.by_bucket.get(bucket, (window_start, 1, 0))
            if window == window_start:
                if following <= last:
                    self.by_bucket[bucket] = (window, following + 1, last)
                    return following
                if last >= limit:  # this window's count is already past the limit, and never falls
                    return last + 1
        # The store is asked outside the lock: a slow store must not hold up the process's other
        # buckets. Two threads refilling one bucket at once each get their own block; the first
        # block's unused counts are lost, as a quiet process's are.
        size = lease_size(limit)
        total = rate_store().hit(bucket, window_start, size)
        with self.lock:
            if self.by_bucket.get(bucket, (0,))[0] <= window_start:  # not over a later window's lease
                self.by_bucket[bucket] = (window_start, total - size + 2, total)
        return total - size + 1

    def clear(self) -> None:
        with self.lock:
            self.by_bucket.clear()


leases = _Leases()


def count_request(bucket: str, window_start: int, limit: int) -> int | None:
    """This request's count in *bucket*'s window (it is admitted when the count is within *limit*);
    None when the store is unreachable and the policy lets the request through.

    With the `deny` policy an unreachable store is DependencyUnavailable (503).
    """
    try:
        return leases.count(bucket, window_start, limit)
    except RateStoreUnavailable as error:
        store_outages.record(error)
        if settings.VAULT_RATE_LIMIT_ON_STORE_ERROR == "deny":
            raise errors.DependencyUnavailable("The rate limiter is unavailable; try again later") from None
        return None


def rate_store_reachable() -> bool | None:
    """Whether the shared Redis store answers; None when the database holds the counters."""
    if not settings.REDIS_URL:
        return None
    return _redis_store(settings.REDIS_URL).reachable()


def purge_old_windows() -> int:
    """Remove database counters of finished windows."""
    current = int(time.time()) // WINDOW_SECONDS * WINDOW_SECONDS
    deleted, _ = RateLimitCounter.objects.filter(window_start__lt=current).delete()
    return deleted
