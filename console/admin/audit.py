"""The audit trail in the console: read-only for everyone, superusers included.

Rows name merchants by name and link what they are about (a customer, a card, a key, a user) when
the reader may open it; the ids stay as recorded, since the trail outlives what it describes.
"""

import json

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import OuterRef, Subquery
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from audit.models import AuditEvent
from console.admin.base import ReadOnlyModelAdmin
from console.site import vault_admin
from merchants.models import ApiKey, Merchant

# An audit object type → the console page that shows it, and the permission to open that page.
OBJECT_PAGES = {
    "customer": ("admin:customers_customer_change", "customers.view_customer"),
    "payment_method": ("admin:tokens_paymentmethod_change", "tokens.view_paymentmethod"),
    "merchant": ("admin:merchants_merchant_change", "merchants.view_merchant"),
    "profile": ("admin:merchants_profile_change", "merchants.view_profile"),
    "api_key": ("admin:merchants_apikey_change", "merchants.view_apikey"),
    "user": ("admin:auth_user_change", "auth.view_user"),
    "group": ("admin:auth_group_change", "auth.view_group"),
}


class AuditLinks:
    """The columns that name and link a row's merchant, actor and object, for one request's reader:
    a link appears only where the reader may open the page."""

    def __init__(self, request, site_name: str) -> None:
        self.request = request
        self.site_name = site_name

    def _link(self, page: str, value: str, text: str):
        url_name, permission = OBJECT_PAGES[page]
        if not value or not self.request.user.has_perm(permission):
            return text
        try:
            url = reverse(url_name, args=[value], current_app=self.site_name)
        except NoReverseMatch:
            return text
        return format_html('<a href="{}">{}</a>', url, text)

    @admin.display(description="actor", ordering="actor_id")
    def actor(self, obj):
        if obj.actor_kind == AuditEvent.ActorKind.API_KEY and obj.actor_key_pk is not None:
            label = (
                f"API key {obj.actor_key_name} ({obj.actor_id})" if obj.actor_key_name else f"API key {obj.actor_id}"
            )
            return self._link("api_key", str(obj.actor_key_pk), label)
        if obj.actor_kind == AuditEvent.ActorKind.ADMIN and obj.actor_user_pk is not None:
            return self._link("user", str(obj.actor_user_pk), f"admin {obj.actor_id}")
        return f"{obj.get_actor_kind_display().lower()} {obj.actor_id}"

    @admin.display(description="merchant", ordering="merchant_id")
    def merchant(self, obj):
        if not obj.merchant_id:
            return "—"
        text = f"{obj.merchant_name} ({obj.merchant_id})" if obj.merchant_name else obj.merchant_id
        return self._link("merchant", obj.merchant_id, text)

    @admin.display(description="object", ordering="object_id")
    def object(self, obj):
        if not obj.object_id:
            return obj.object_type or "—"
        text = f"{obj.object_type} {obj.object_id}"
        if obj.object_type == "api_key":  # recorded by its public key id; its page is addressed by row id
            return self._link("api_key", str(obj.object_key_pk or ""), text)
        if obj.object_type not in OBJECT_PAGES:
            return text
        return self._link(obj.object_type, obj.object_id, text)


@admin.register(AuditEvent, site=vault_admin)
class AuditEventAdmin(ReadOnlyModelAdmin):
    list_filter = ("actor_kind", "action", "outcome", "merchant_id", "occurred_at")
    search_fields = ("=object_id", "=actor_id", "=merchant_id", "=request_id")
    search_help_text = "Search by object id, actor id (a username or an API key id), merchant id or request id."
    date_hierarchy = "occurred_at"
    ordering = ("-occurred_at", "-id")

    def get_queryset(self, request):
        merchants = Merchant.objects.filter(pk=OuterRef("merchant_id"))
        actor_keys = ApiKey.objects.filter(key_id=OuterRef("actor_id"))
        object_keys = ApiKey.objects.filter(key_id=OuterRef("object_id"))
        users = get_user_model().objects.filter(username=OuterRef("actor_id"))
        return (
            super()
            .get_queryset(request)
            .annotate(
                merchant_name=Subquery(merchants.values("name")[:1]),
                actor_key_pk=Subquery(actor_keys.values("pk")[:1]),
                actor_key_name=Subquery(actor_keys.values("name")[:1]),
                actor_user_pk=Subquery(users.values("pk")[:1]),
                object_key_pk=Subquery(object_keys.values("pk")[:1]),
            )
        )

    def get_list_display(self, request):
        links = AuditLinks(request, self.admin_site.name)
        return ("occurred_at", links.actor, "action", "outcome_badge", links.merchant, links.object)

    def get_fields(self, request, obj=None):
        links = AuditLinks(request, self.admin_site.name)
        return (
            "occurred_at",
            links.actor,
            "action",
            "outcome",
            links.merchant,
            links.object,
            "request_id",
            "origin",
            "details_json",
        )

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    @admin.display(description="outcome", ordering="outcome")
    def outcome_badge(self, obj):
        tone = {"success": "on", "denied": "warn", "failure": "off"}.get(obj.outcome, "off")
        return format_html('<span class="vault-badge vault-badge-{}">{}</span>', tone, obj.outcome)

    @admin.display(description="details")
    def details_json(self, obj):
        return format_html("<pre class='vault-json'>{}</pre>", json.dumps(obj.details, indent=2, sort_keys=True))
