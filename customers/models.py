"""Customers of a merchant, in the upstream `CustomerResponse` shape."""

from django.db import models
from django.db.models import Q

from core.tenancy import MerchantScopedQuerySet
from merchants.models import Merchant, Profile


class Customer(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        REDACTED = "redacted"

    id = models.CharField(primary_key=True, max_length=64)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="customers")
    profile = models.ForeignKey(Profile, on_delete=models.PROTECT, related_name="customers")
    merchant_reference_id = models.CharField(max_length=64, null=True, blank=True)
    name = models.CharField(max_length=255)
    email = models.CharField(max_length=255)
    phone = models.CharField(max_length=255, null=True, blank=True)
    phone_country_code = models.CharField(max_length=255, null=True, blank=True)
    description = models.CharField(max_length=255, null=True, blank=True)
    default_billing_address = models.JSONField(null=True, blank=True)
    default_shipping_address = models.JSONField(null=True, blank=True)
    metadata = models.JSONField(null=True, blank=True)
    tax_registration_id = models.CharField(max_length=255, null=True, blank=True)
    document_details = models.JSONField(null=True, blank=True)
    connector_customer_ids = models.JSONField(null=True, blank=True)
    default_payment_method_id = models.CharField(max_length=64, null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Selectors and services scope with objects.for_merchant(); cross-merchant jobs use `unscoped`.
    objects = MerchantScopedQuerySet.as_manager()
    unscoped = MerchantScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            # A reference id names one live customer; a redacted customer frees it for reuse.
            models.UniqueConstraint(
                fields=["merchant", "merchant_reference_id"],
                condition=Q(status="active") & Q(merchant_reference_id__isnull=False),
                name="customer_reference_unique_per_merchant",
            ),
        ]
        indexes = [models.Index(fields=["merchant", "status", "-id"], name="customer_merchant_list")]

    def __str__(self) -> str:
        return self.id
