"""One table shaped like tokens.PaymentMethod: the same columns, types, sizes and indexes, with plain
indexed text columns where the vault has foreign keys (the baseline has no merchants or customers)."""

# Nullable text columns as in tokens/models.py (exempt there in pyproject.toml): the same table shape.
# ruff: noqa: DJ001

from django.db import models
from django.db.models import Q


class Row(models.Model):
    id = models.CharField(primary_key=True, max_length=64)
    merchant_id = models.CharField(max_length=64, db_index=True)
    profile_id = models.CharField(max_length=24, db_index=True)
    customer_id = models.CharField(max_length=64, null=True, blank=True, db_index=True)
    payment_method_type = models.CharField(max_length=32, default="card")
    payment_method_subtype = models.CharField(max_length=32, null=True, blank=True)
    status = models.CharField(max_length=16, default="active")
    storage_type = models.CharField(max_length=16)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    card_isin = models.CharField(max_length=8)
    last4_digits = models.CharField(max_length=4)
    expiry_month = models.CharField(max_length=2)
    expiry_year = models.CharField(max_length=4)
    card_holder_name = models.CharField(max_length=255, null=True, blank=True)
    nick_name = models.CharField(max_length=255, null=True, blank=True)
    card_network = models.CharField(max_length=32, null=True, blank=True)
    card_issuer = models.CharField(max_length=255, null=True, blank=True)
    card_type = models.CharField(max_length=32, null=True, blank=True)
    issuer_country = models.CharField(max_length=2, null=True, blank=True)
    sealed_card = models.TextField(blank=True)
    kek_version = models.CharField(max_length=8, blank=True, db_index=True)
    card_fingerprint = models.CharField(max_length=80, null=True, blank=True)
    network_token_ref = models.CharField(max_length=64, null=True, blank=True, unique=True)
    network_token_status = models.CharField(max_length=16, null=True, blank=True)
    network_token_exp_month = models.CharField(max_length=2, null=True, blank=True)
    network_token_exp_year = models.CharField(max_length=4, null=True, blank=True)
    network_token_isin = models.CharField(max_length=8, null=True, blank=True)
    network_token_last4 = models.CharField(max_length=4, null=True, blank=True)
    network_token_par = models.CharField(max_length=64, null=True, blank=True)
    network_token_delete_pending = models.BooleanField(default=False, db_index=True)
    billing = models.JSONField(null=True, blank=True)
    metadata = models.JSONField(null=True, blank=True)
    network_transaction_id = models.CharField(max_length=255, null=True, blank=True)
    acknowledgement_status = models.CharField(max_length=16, null=True, blank=True)
    created = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "bench_baseline_row"
        constraints = [
            models.UniqueConstraint(
                fields=["customer_id", "card_fingerprint"],
                condition=Q(status__in=["active", "inactive"], storage_type="persistent"),
                name="bench_row_unique_per_customer",
            ),
        ]
        indexes = [models.Index(fields=["customer_id", "status", "-id"], name="bench_row_customer_list")]

    def __str__(self) -> str:
        return self.id
