"""Payment methods. The card number exists here only sealed (see tokens/crypto.py)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.tenancy import MerchantScopedQuerySet
from customers.models import Customer
from merchants.models import Merchant, Profile


class PaymentMethod(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        INACTIVE = "inactive"
        REDACTED = "redacted", "Deleted"  # the API says "redacted"; people say deleted

    class StorageType(models.TextChoices):
        PERSISTENT = "persistent"
        VOLATILE = "volatile"

    id = models.CharField(primary_key=True, max_length=64)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="payment_methods")
    profile = models.ForeignKey(Profile, on_delete=models.PROTECT, related_name="payment_methods")
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="payment_methods", null=True, blank=True
    )
    payment_method_type = models.CharField(max_length=32, default="card")
    payment_method_subtype = models.CharField(max_length=32, null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    storage_type = models.CharField(max_length=16, choices=StorageType.choices)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)

    # The masked view of the card: what PCI DSS allows in clear (BIN, last four, expiry, names).
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

    # The card number, sealed; emptied when the payment method is deleted.
    sealed_card = models.TextField(blank=True)
    # Also inside sealed_card, in columns of their own so that rotation finds records by key: the
    # merchant key version that wraps the data key, or, for a value sealed before merchant keys
    # existed (scheme v1), the legacy KEK version that does.
    kek_version = models.CharField(max_length=8, blank=True, db_index=True)
    merchant_key_version = models.PositiveIntegerField(null=True, blank=True)
    # Keyed HMAC of the number, per merchant; cleared on delete so the card can be vaulted again.
    card_fingerprint = models.CharField(max_length=80, null=True, blank=True)
    # A CVC sent on create or update, sealed under its own data key until the proxy uses it once or
    # cvc_expires_at passes (VAULT_CVC_TTL, at most 15 minutes; PCI DSS 3.3.2). Never read otherwise.
    sealed_cvc = models.TextField(blank=True, default="")
    cvc_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)

    # The network token, when one was provisioned: its number is sealed in sealed_card with the card's.
    network_token_ref = models.CharField(max_length=64, null=True, blank=True, unique=True)
    network_token_status = models.CharField(max_length=16, null=True, blank=True)
    network_token_exp_month = models.CharField(max_length=2, null=True, blank=True)
    network_token_exp_year = models.CharField(max_length=4, null=True, blank=True)
    network_token_isin = models.CharField(max_length=8, null=True, blank=True)
    network_token_last4 = models.CharField(max_length=4, null=True, blank=True)
    network_token_par = models.CharField(max_length=64, null=True, blank=True)
    # Set when the payment method was deleted but the token service has not yet confirmed the token's
    # deletion; `purge_expired` retries until it does.
    network_token_delete_pending = models.BooleanField(default=False, db_index=True)
    # When the newest lifecycle event applied to the token happened (the token service's clock): an
    # event that happened earlier arrives late and changes nothing.
    network_token_event_at = models.DateTimeField(null=True, blank=True)

    billing = models.JSONField(null=True, blank=True)
    metadata = models.JSONField(null=True, blank=True)
    network_transaction_id = models.CharField(max_length=255, null=True, blank=True)
    # Processors' tokens for this card (upstream's ConnectorTokenDetails), one per connector id.
    connector_tokens = models.JSONField(null=True, blank=True)
    acknowledgement_status = models.CharField(max_length=16, null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Selectors and services scope with objects.for_merchant(); cross-merchant jobs use `unscoped`.
    objects = MerchantScopedQuerySet.as_manager()
    unscoped = MerchantScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            # One live payment method per card and customer: concurrent creates of one card yield one row.
            models.UniqueConstraint(
                fields=["customer", "card_fingerprint"],
                condition=Q(status__in=["active", "inactive"], storage_type="persistent"),
                name="payment_method_card_unique_per_customer",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "status", "-id"], name="pm_customer_list"),
            models.Index(fields=["merchant", "merchant_key_version"], name="pm_merchant_key"),
        ]

    def __str__(self) -> str:
        return self.id


class TokenLifecycleEvent(models.Model):
    """A lifecycle event the token service pushed, kept by its id so that a replay changes nothing.

    Not merchant data (the token service names tokens, not merchants); `purge_expired` removes
    events older than VAULT_NT_EVENT_RETENTION_DAYS.
    """

    class Outcome(models.TextChoices):
        APPLIED = "applied"
        IGNORED = "ignored"  # older than the newest applied event, or after the token was deleted

    event_id = models.CharField(primary_key=True, max_length=64)
    token_ref = models.CharField(max_length=64)
    status = models.CharField(max_length=16)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)

    def __str__(self) -> str:
        return self.event_id


class VaultInstance(models.Model):
    """A server process of the vault, as its last heartbeat described it: which key versions it holds
    and which it encrypts under (versions only, never key material). `rotate_keys` reads these to
    refuse a rotation that an instance still on an older keyring would undo."""

    instance_id = models.CharField(primary_key=True, max_length=64)
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)
    kek_versions = models.JSONField(default=list)
    active_kek = models.CharField(max_length=8)
    fingerprint_versions = models.JSONField(default=list)
    newest_fingerprint_key = models.CharField(max_length=8)
    # `<provider>:<root version>` that wraps the merchant keys it creates.
    root_key = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return f"{self.host} pid {self.pid}"


class MerchantKey(models.Model):
    """A merchant's key-encryption key, stored only wrapped by the root key of a key provider.

    Versions count up per merchant; the one ACTIVE version wraps new cards' data keys. A RETIRED
    version still opens the cards not yet re-wrapped by `rotate_keys`. A DESTROYED version (crypto-
    shredding) has no wrapped key any more: nothing it wrapped can be opened again.
    """

    class State(models.TextChoices):
        ACTIVE = "active"
        RETIRED = "retired"
        DESTROYED = "destroyed"

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="merchant_keys")
    version = models.PositiveIntegerField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    # base64 of what the provider answered; emptied when the key is destroyed.
    wrapped_key = models.TextField(blank=True)
    root_provider = models.CharField(max_length=16)
    # The root key version that wrapped it: a keyring version, an HSM key label or a KMS key ARN.
    root_version = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)
    rewrapped_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)

    objects = MerchantScopedQuerySet.as_manager()
    unscoped = MerchantScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "version"], name="merchant_key_version_unique"),
            models.UniqueConstraint(fields=["merchant"], condition=Q(state="active"), name="merchant_key_one_active"),
        ]

    def __str__(self) -> str:
        return f"{self.merchant_id} key {self.version} ({self.state})"


class MerchantShredRequest(models.Model):
    """A superuser's request to crypto-shred a merchant, carried out only once a second superuser
    approves it (dual control, as PCI DSS 3.6.1.2 asks of key destruction)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        EXECUTED = "executed"
        CANCELLED = "cancelled"

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="shred_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    reason = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = MerchantScopedQuerySet.as_manager()
    unscoped = MerchantScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant"], condition=Q(status="pending"), name="merchant_shred_one_pending"
            ),
        ]

    def __str__(self) -> str:
        return f"shred {self.merchant_id} ({self.status})"


class GenericToken(models.Model):
    """Any JSON value a merchant tokenizes for a customer (a bank account, a national id), sealed
    under its own data key like a card. No read route returns it; only the proxy substitutes its
    fields. Deleting it destroys the ciphertext and leaves the flag `disabled`, as upstream answers."""

    class Flag(models.TextChoices):
        ENABLED = "enabled"
        DISABLED = "disabled"

    id = models.CharField(primary_key=True, max_length=64)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    sealed_value = models.TextField(blank=True)
    merchant_key_version = models.PositiveIntegerField(null=True, blank=True)
    flag = models.CharField(max_length=16, choices=Flag.choices, default=Flag.ENABLED)
    created_at = models.DateTimeField(default=timezone.now)
    disabled_at = models.DateTimeField(null=True, blank=True)

    objects = MerchantScopedQuerySet.as_manager()
    unscoped = MerchantScopedQuerySet.as_manager()

    def __str__(self) -> str:
        return self.id
