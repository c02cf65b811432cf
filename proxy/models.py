"""Where a merchant's proxy calls may go: an allowlist of exact scheme, host and port.

A destination receives card data, so adding one is dual control, as issuing a reveal key is: it
stays pending until someone other than the person who added it approves it (or an operator on the
host adds it with --single-control, which the audit row says).
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.tenancy import MerchantScopedQuerySet
from merchants.models import Merchant


class ProxyDestination(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Pending approval"
        ACTIVE = "active", "Active"
        REVOKED = "revoked", "Revoked"

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="proxy_destinations")
    scheme = models.CharField(max_length=5)  # https, or http in development
    host = models.CharField(max_length=253)  # lower case, IDNA-encoded
    port = models.PositiveIntegerField()
    # PEM certificates that verify this destination instead of the system's trust store; empty: the system's.
    ca_bundle = models.TextField(blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    # Who added it and who approved it, as the audit trail names actors (`kind:id`).
    added_by = models.CharField(max_length=170)
    added_at = models.DateTimeField(default=timezone.now)
    approved_by = models.CharField(max_length=170, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = MerchantScopedQuerySet.as_manager()
    unscoped = MerchantScopedQuerySet.as_manager()

    class Meta:
        ordering = ["merchant_id", "host", "port"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "scheme", "host", "port"],
                condition=~Q(state="revoked"),
                name="proxy_destination_one_live",
            ),
        ]

    def __str__(self) -> str:
        return self.origin

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"
