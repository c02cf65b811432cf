"""Answers to POST creates, kept per merchant and Idempotency-Key so that a retry is replayed."""

from django.db import models

from merchants.models import Merchant


class IdempotencyRecord(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # Keyed digest of route and body: proves "same request" without keeping the body (it may hold a card).
    request_digest = models.CharField(max_length=80)
    # Null while the first request is still being answered.
    response_status = models.PositiveSmallIntegerField(null=True)
    # Text, not JSON: PostgreSQL's jsonb would reorder the keys and a replay must be identical.
    response_body = models.TextField(null=True)  # noqa: DJ001 - null means "no answer yet"
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant", "key"], name="idempotency_key_unique_per_merchant")]

    def __str__(self) -> str:
        return f"{self.merchant_id}:{self.key}"
