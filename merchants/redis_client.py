"""The one Redis client per REDIS_URL that a process shares: rate-limit counters and the
revocation epoch. Short timeouts: Redis answers in microseconds, or is treated as down."""

from functools import cache


@cache
def redis_client(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
