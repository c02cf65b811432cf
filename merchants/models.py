"""Tenancy: a merchant owns profiles and API keys; every vault record belongs to a merchant."""

import re
from datetime import datetime

from django.db import models
from django.db.models import Q
from django.utils import timezone

from merchants.keys import KEY_PREFIX

PROFILE_ID_RE = re.compile(r"pro_[A-Za-z0-9]{20}", re.ASCII)


class Merchant(models.Model):
    id = models.CharField(primary_key=True, max_length=64)
    name = models.CharField(max_length=255)
    # Requests per minute for each of the merchant's keys; null → VAULT_RATE_LIMIT_PER_MINUTE, 0 → no limit.
    rate_limit_per_minute = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class Profile(models.Model):
    id = models.CharField(primary_key=True, max_length=24)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="profiles")
    name = models.CharField(max_length=255)
    network_tokenization_enabled = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class ApiKeyState(models.TextChoices):
    LIVE = "live", "Live"
    PENDING = "pending", "Pending approval"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"


def api_key_state_condition(state: str, *, through: str = "", now: datetime | None = None) -> Q:
    """The condition for keys in *state*, on ApiKey itself or *through* a relation (`api_keys__`).

    The one definition of "live": not revoked, not past its expiry, and approved (a key with a
    dual-control scope waits for a second person). ApiKey.state says the same of one key in Python.
    """
    now = now or timezone.now()
    # Positive lookups only: a negated lookup through a relation would become a subquery.
    if state == ApiKeyState.REVOKED:
        return Q(**{f"{through}revoked_at__isnull": False})
    not_revoked = Q(**{f"{through}revoked_at__isnull": True})
    if state == ApiKeyState.EXPIRED:
        return not_revoked & Q(**{f"{through}expires_at__lte": now})
    unexpired = Q(**{f"{through}expires_at__isnull": True}) | Q(**{f"{through}expires_at__gt": now})
    approved = state != ApiKeyState.PENDING
    return not_revoked & unexpired & Q(**{f"{through}approved_at__isnull": not approved})


class ApiKeyQuerySet(models.QuerySet):
    def live(self) -> "ApiKeyQuerySet":
        return self.filter(api_key_state_condition(ApiKeyState.LIVE))

    def in_state(self, state: str) -> "ApiKeyQuerySet":
        return self.filter(api_key_state_condition(state))


class ApiKey(models.Model):
    """An API key: a public key id plus a secret kept only as a keyed hash (HMAC under a pepper)."""

    key_id = models.CharField(max_length=32, unique=True)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="api_keys")
    name = models.CharField(max_length=255, blank=True)
    # `<algorithm>$<digest>`: the algorithm is named so stored digests can be upgraded on use.
    secret_hash = models.CharField(max_length=128)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # Who issued the key and who approved it, as the audit trail names actors (`kind:id`). A key with
    # a dual-control scope stays pending (approved_at empty) until someone other than its issuer approves.
    issued_by = models.CharField(max_length=170, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.CharField(max_length=170, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.key_id} ({self.merchant_id})"

    @property
    def state(self) -> ApiKeyState:
        if self.revoked_at is not None:
            return ApiKeyState.REVOKED
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return ApiKeyState.EXPIRED
        if self.approved_at is None:
            return ApiKeyState.PENDING
        return ApiKeyState.LIVE

    @property
    def prefix(self) -> str:
        """The non-secret start of the key, enough to recognise it in a list."""
        return f"{KEY_PREFIX}{self.key_id}_…"


class RateLimitCounter(models.Model):
    """Requests counted per key and window, when no Redis is configured: a store every server
    process shares. Old windows are removed by `purge_expired`."""

    bucket = models.CharField(max_length=80, unique=True)
    window_start = models.BigIntegerField(db_index=True)
    count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.bucket}={self.count}"
