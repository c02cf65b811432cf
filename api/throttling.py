"""Per-API-key rate limiting: the DRF throttle. The counters live in merchants/rate_limits.py;
the limit is per merchant (see Merchant), a fixed one-minute window per key."""

import time

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from merchants.rate_limits import WINDOW_SECONDS, count_request


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
        count = count_request(principal.api_key.key_id, window_start, limit)
        return count is None or count <= limit  # None: the store is down and the policy lets it through

    def wait(self) -> float:
        return self.retry_after


class ProxyRateThrottle(BaseThrottle):
    """Proxy calls per minute per API key (VAULT_PROXY_RATE_LIMIT_PER_MINUTE), counted apart from the
    key's other requests: each one sends card data out of the vault."""

    def allow_request(self, request, view) -> bool:
        limit = settings.VAULT_PROXY_RATE_LIMIT_PER_MINUTE
        if limit == 0:
            return True
        now = time.time()
        window_start = int(now) // WINDOW_SECONDS * WINDOW_SECONDS
        self.retry_after = max(1, int(window_start + WINDOW_SECONDS - now + 0.999))
        count = count_request(f"proxy:{request.user.api_key.key_id}", window_start, limit)
        return count is None or count <= limit

    def wait(self) -> float:
        return self.retry_after
