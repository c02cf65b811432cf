"""Console pages for customers: read-only, with email and phone partly masked.

Addresses, metadata and identity documents are not shown at all. Opening a customer is audited.
"""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from audit.actions import AuditAction
from console.admin.base import AuditedReadOnlyModelAdmin
from console.masking import mask_email, mask_phone
from console.site import vault_admin
from customers.models import Customer


@admin.register(Customer, site=vault_admin)
class CustomerAdmin(AuditedReadOnlyModelAdmin):
    audit_action = AuditAction.ADMIN_CUSTOMER_VIEW
    audit_object_type = "customer"
    list_display = ("id", "merchant", "merchant_reference_id", "name", "masked_email", "masked_phone", "status")
    list_display += ("created_at",)
    list_filter = ("status", "merchant", "created_at")
    extra_lookups = ("id",)
    # Exact matches only: a partial search on email would let one read an address letter by letter.
    search_fields = ("=id", "=merchant_reference_id", "=email", "=merchant__id")
    search_help_text = "Search by customer id, merchant reference id, exact email or merchant id."
    list_select_related = ("merchant",)
    ordering = ("-created_at",)
    fields = (
        "id",
        "merchant",
        "profile",
        "merchant_reference_id",
        "name",
        "masked_email",
        "masked_phone",
        "description",
        "status",
        "default_payment_method_id",
        "payment_methods_link",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields

    @admin.display(description="email")
    def masked_email(self, obj):
        return mask_email(obj.email)

    @admin.display(description="phone")
    def masked_phone(self, obj):
        return mask_phone(obj.phone)

    @admin.display(description="payment methods")
    def payment_methods_link(self, obj):
        url = reverse("admin:tokens_paymentmethod_changelist", current_app=self.admin_site.name)
        return format_html('<a href="{}?customer__id__exact={}">{}</a>', url, obj.pk, "Show this customer's cards")
