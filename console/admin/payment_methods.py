"""Console pages for payment methods: read-only and masked.

A page shows the BIN, the last four digits and the expiry, never the card number, its ciphertext,
its key version or its fingerprint; none of those can be searched or filtered on either. Opening a
payment method writes an audit event first: if it cannot be written, the page is not shown.
"""

from django.contrib import admin
from django.utils.html import format_html

from audit.actions import AuditAction
from console.admin.base import AuditedReadOnlyModelAdmin
from console.site import vault_admin
from tokens.models import PaymentMethod


@admin.register(PaymentMethod, site=vault_admin)
class PaymentMethodAdmin(AuditedReadOnlyModelAdmin):
    audit_action = AuditAction.ADMIN_PAYMENT_METHOD_VIEW
    audit_object_type = "payment_method"
    list_display = (
        "id",
        "merchant_name",
        "customer",
        "card_network",
        "masked_card",
        "expiry",
        "status",
        "storage_type",
        "network_token_status",
        "created",
    )
    list_filter = ("status", "storage_type", "card_network", "network_token_status", "merchant", "created")
    extra_lookups = ("customer",)
    search_fields = ("=id", "=last4_digits", "=customer__id", "=customer__email", "=merchant__id")
    search_help_text = "Search by payment method id, last 4 digits, customer id, exact customer email or merchant id."
    list_select_related = ("merchant", "customer")
    ordering = ("-created",)
    # An explicit list: the sealed card, its key version and its fingerprint are never among them.
    fields = (
        "id",
        "merchant",
        "profile",
        "customer",
        "payment_method_type",
        "payment_method_subtype",
        "card_network",
        "card_isin",
        "masked_last4",
        "expiry",
        "card_holder_name",
        "nick_name",
        "card_issuer",
        "card_type",
        "issuer_country",
        "status",
        "storage_type",
        "expires_at",
        "network_token_status",
        "network_token_masked",
        "acknowledgement_status",
        "created",
        "last_used_at",
        "updated_at",
    )
    readonly_fields = fields

    @admin.display(description="merchant", ordering="merchant__name")
    def merchant_name(self, obj):
        return obj.merchant.name

    @admin.display(description="card")
    def masked_card(self, obj):
        # The stored leading digits and the last four: never more than half of the number (tokens/cards.py).
        return format_html('<span style="white-space:nowrap">{} •••• {}</span>', obj.card_isin, obj.last4_digits)

    @admin.display(description="last 4", ordering="last4_digits")
    def masked_last4(self, obj):
        return f"•••• {obj.last4_digits}"

    @admin.display(description="expiry")
    def expiry(self, obj):
        return f"{obj.expiry_month}/{obj.expiry_year}"

    @admin.display(description="network token")
    def network_token_masked(self, obj):
        if not obj.network_token_last4:
            return "—"
        return f"•••• {obj.network_token_last4} (expires {obj.network_token_exp_month}/{obj.network_token_exp_year})"

    def get_queryset(self, request):
        # Never load the secret columns into a console page, not even unshown.
        return super().get_queryset(request).defer("sealed_card", "kek_version", "card_fingerprint")
