"""Request counters for per-key rate limits, in a store every server process shares: Redis when
REDIS_URL is set, else the database. A fixed one-minute window per bucket; the API's throttle
(api/throttling.py) decides what a bucket is and what its limit is.

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
    def hit(self, bucket: str, window_start: int) -> int:
        """Count one request in *bucket*; return the count so far in this window."""


class DatabaseRateStore:
    """One atomic upsert per request (PostgreSQL, and SQLite 3.35 or newer)."""

    def hit(self, bucket: str, window_start: int) -> int:
        table = connection.ops.quote_name(RateLimitCounter._meta.db_table)
        sql = (
            f"INSERT INTO {table} (bucket, window_start, count) VALUES (%s, %s, 1) "  # noqa: S608 - the model's table
            f"ON CONFLICT (bucket) DO UPDATE SET count = {table}.count + 1 RETURNING count"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [f"{bucket}:{window_start}", window_start])
            return int(cursor.fetchone()[0])


class RedisRateStore:
    def __init__(self, url: str) -> None:
        self.client = redis_client(url)

    def hit(self, bucket: str, window_start: int) -> int:
        import redis

        key = f"vault:rate:{bucket}:{window_start}"
        try:
            # One round trip, without MULTI/EXEC: the count and its expiry need not be atomic together
            # (a key left without one expires on the next request's EXPIRE).
            pipeline = self.client.pipeline(transaction=False)
            pipeline.incr(key)
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


def count_request(bucket: str, window_start: int) -> int | None:
    """Count a request in *bucket*; None when the store is unreachable and the policy lets it through.

    With the `deny` policy an unreachable store is DependencyUnavailable (503).
    """
    try:
        return rate_store().hit(bucket, window_start)
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
