"""Per-API-key rate limiting in a store every server process shares: Redis when REDIS_URL is set,
else the database. A fixed one-minute window per key; the limit is per merchant (see Merchant)."""

import time
from functools import cache
from typing import Protocol

from django.conf import settings
from django.db import connection
from rest_framework.throttling import BaseThrottle

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


class ApiKeyRateThrottle(BaseThrottle):
    """Limit each API key to its merchant's requests per minute; answer 429 with Retry-After."""

    def allow_request(self, request, view) -> bool:
        principal = request.user
        if not getattr(principal, "is_authenticated", False) or not hasattr(principal, "api_key"):
            return True  # public routes (docs, health, the signed webhook) are not per key
        merchant_limit = principal.merchant.rate_limit_per_minute
        limit = settings.VAULT_RATE_LIMIT_PER_MINUTE if merchant_limit is None else merchant_limit
        if limit == 0:
            return True
        now = time.time()
        window_start = int(now) // WINDOW_SECONDS * WINDOW_SECONDS
        self.retry_after = max(1, int(window_start + WINDOW_SECONDS - now + 0.999))
        return rate_store().hit(principal.api_key.key_id, window_start) <= limit

    def wait(self) -> float:
        return self.retry_after
