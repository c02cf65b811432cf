"""Per-API-key rate limiting in a store every server process shares: Redis when REDIS_URL is set,
else the database. A fixed one-minute window per key; the limit is per merchant (see Merchant)."""

import time
from functools import cache
from typing import Protocol

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from rest_framework.throttling import BaseThrottle

from merchants.models import RateLimitCounter

WINDOW_SECONDS = 60


class RateStore(Protocol):
    def hit(self, bucket: str, window_start: int) -> int:
        """Count one request in *bucket*; return the count so far in this window."""


class DatabaseRateStore:
    def hit(self, bucket: str, window_start: int) -> int:
        key = f"{bucket}:{window_start}"
        with transaction.atomic():
            updated = RateLimitCounter.objects.filter(bucket=key).update(count=F("count") + 1)
            if not updated:
                try:
                    with transaction.atomic():
                        RateLimitCounter.objects.create(bucket=key, window_start=window_start, count=1)
                    return 1
                except IntegrityError:
                    RateLimitCounter.objects.filter(bucket=key).update(count=F("count") + 1)
            return RateLimitCounter.objects.filter(bucket=key).values_list("count", flat=True).get()


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
