"""Console pages for payment methods: read-only and masked.

A page shows the BIN, the last four digits and the expiry, never the card number, its ciphertext,
its key version or its fingerprint; none of those can be searched or filtered on either. Opening a
payment method writes an audit event first: if it cannot be written, the page is not shown.
"""

from django.contrib import admin
from django.utils import formats, timezone
from django.utils.html import format_html

from audit.actions import AuditAction
from audit.selectors import latest_event
from console.admin.base import AuditedReadOnlyModelAdmin
from console.masking import mask_email
from console.site import vault_admin
from tokens.models import PaymentMethod
from tokens.network.protocol import STATUSES


class NetworkTokenFilter(admin.SimpleListFilter):
    """The token's state in words, with "No network token" for cards that never had one."""

    title = "network token"
    parameter_name = "network_token"
    _states = {"none": "No network token", **{state.lower(): state.capitalize() for state in STATUSES}}

    def lookups(self, request, model_admin):
        return list(self._states.items())

    def queryset(self, request, queryset):
        value = self.value()
        if value == "none":
            return queryset.filter(network_token_status__isnull=True)
        if value in self._states:
            return queryset.filter(network_token_status=value.upper())
        return queryset


@admin.register(PaymentMethod, site=vault_admin)
class PaymentMethodAdmin(AuditedReadOnlyModelAdmin):
    audit_action = AuditAction.ADMIN_PAYMENT_METHOD_VIEW
    audit_object_type = "payment_method"
    # Fits 1400 px beside the filters: the network shares the card's column, the storage type is a filter.
    list_display = (
        "id_label",
        "customer_label",
        "merchant_name",
        "card_label",
        "status_label",
        "network_token_label",
        "created_label",
    )
    list_display_links = ("id_label",)
    list_filter = ("status", NetworkTokenFilter, "storage_type", "card_network", "merchant", "created")
    extra_lookups = ("customer",)
    search_fields = (
        "=id",
        "=last4_digits",
        "=card_isin",
        "=customer__id",
        "=customer__merchant_reference_id",
        "=customer__email",
        "=merchant__id",
    )
    search_help_text = (
        "Search by payment method id, last 4 digits, BIN (as stored: 6 or 8 digits), customer id, "
        "customer reference, exact customer email or merchant id."
    )
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
        "bin",
        "masked_last4",
        "expiry",
        "card_holder_name",
        "nick_name",
        "card_issuer",
        "card_type",
        "issuer_country",
        "status_label",
        "deletion",
        "storage_type",
        "expires_at",
        "network_token_label",
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

    @admin.display(description="customer", ordering="customer__name")
    def customer_label(self, obj):
        who = obj.customer.name or mask_email(obj.customer.email) or "—"
        return format_html('{}<br><span class="vault-id">{}</span>', who, obj.customer_id)

    @admin.display(description="id", ordering="id")
    def id_label(self, obj):
        return format_html('<span class="vault-id">{}</span>', obj.pk)

    @admin.display(description="card")
    def card_label(self, obj):
        # The stored leading digits and the last four: never more than half of the number (tokens/cards.py).
        return format_html(
            '<span class="vault-nowrap">{} {} •••• {}</span><br><span class="vault-quiet">expires {}/{}</span>',
            obj.card_network or "",
            obj.card_isin,
            obj.last4_digits,
            obj.expiry_month,
            obj.expiry_year,
        )

    @admin.display(description="BIN")
    def bin(self, obj):
        return obj.card_isin

    @admin.display(description="last 4", ordering="last4_digits")
    def masked_last4(self, obj):
        return f"•••• {obj.last4_digits}"

    @admin.display(description="expiry")
    def expiry(self, obj):
        return f"{obj.expiry_month}/{obj.expiry_year}"

    @admin.display(description="status", ordering="status")
    def status_label(self, obj):
        if obj.status == PaymentMethod.Status.REDACTED:
            return format_html('<span class="vault-badge vault-badge-off">{}</span>', "Deleted")
        tone = "on" if obj.status == PaymentMethod.Status.ACTIVE else "warn"
        return format_html('<span class="vault-badge vault-badge-{}">{}</span>', tone, obj.get_status_display())

    @admin.display(description="deleted")
    def deletion(self, obj):
        if obj.status != PaymentMethod.Status.REDACTED:
            return "—"
        event = latest_event(
            merchant_id=obj.merchant_id,
            object_type="payment_method",
            object_id=obj.pk,
            action=AuditAction.PAYMENT_METHOD_DELETE,
        )
        if event is None:
            return "Deleted (no deletion in the audit trail: it may have been pruned)"
        when = formats.localize(timezone.localtime(event.occurred_at))
        reason = f", {event.details['reason']}" if event.details.get("reason") else ""
        return f"Deleted {when} by {event.get_actor_kind_display().lower()} {event.actor_id}{reason}"

    @admin.display(description="network token", ordering="network_token_status")
    def network_token_label(self, obj):
        return obj.network_token_status.capitalize() if obj.network_token_status else "—"

    @admin.display(description="created", ordering="created")
    def created_label(self, obj):
        moment = timezone.localtime(obj.created)
        return format_html(
            '<span class="vault-nowrap">{}</span><br><span class="vault-quiet">{}</span>',
            formats.date_format(moment, "DATE_FORMAT"),
            formats.date_format(moment, "H:i:s T"),
        )

    @admin.display(description="network token number")
    def network_token_masked(self, obj):
        if not obj.network_token_last4:
            return "—"
        return f"•••• {obj.network_token_last4} (expires {obj.network_token_exp_month}/{obj.network_token_exp_year})"

    def get_queryset(self, request):
        # Never load the secret columns into a console page, not even unshown.
        return super().get_queryset(request).defer("sealed_card", "sealed_cvc", "kek_version", "card_fingerprint")
