"""Request counters for per-key rate limits, in a store every server process shares: Redis when
REDIS_URL is set, else the database. A fixed one-minute window per bucket; the API's throttle
(api/throttling.py) decides what a bucket is and what its limit is."""

import time
from functools import cache
from typing import Protocol

from django.conf import settings
from django.db import connection

from merchants.models import RateLimitCounter

WINDOW_SECONDS = 60


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
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)

    def hit(self, bucket: str, window_start: int) -> int:
        key = f"vault:rate:{bucket}:{window_start}"
        pipeline = self.client.pipeline()
        pipeline.incr(key)
        pipeline.expire(key, WINDOW_SECONDS * 2)
        count, _ = pipeline.execute()
        return int(count)


@cache
def _redis_store(url: str) -> RedisRateStore:
    return RedisRateStore(url)


def rate_store() -> RateStore:
    return _redis_store(settings.REDIS_URL) if settings.REDIS_URL else DatabaseRateStore()


def purge_old_windows() -> int:
    """Remove database counters of finished windows."""
    current = int(time.time()) // WINDOW_SECONDS * WINDOW_SECONDS
    deleted, _ = RateLimitCounter.objects.filter(window_start__lt=current).delete()
    return deleted
