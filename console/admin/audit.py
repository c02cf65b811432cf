"""The audit trail in the console: read-only for everyone, superusers included."""

import json

from django.contrib import admin
from django.utils.html import format_html

from audit.models import AuditEvent
from console.admin.base import ReadOnlyModelAdmin
from console.site import vault_admin


@admin.register(AuditEvent, site=vault_admin)
class AuditEventAdmin(ReadOnlyModelAdmin):
    list_display = ("occurred_at", "actor_kind", "actor_id", "action", "outcome_badge", "merchant_id", "object_type")
    list_display += ("object_id",)
    list_filter = ("actor_kind", "action", "outcome", "merchant_id", "occurred_at")
    search_fields = ("=object_id", "=actor_id", "=merchant_id", "=request_id")
    search_help_text = "Search by object id, actor id, merchant id or request id."
    date_hierarchy = "occurred_at"
    ordering = ("-occurred_at", "-id")
    fields = (
        "occurred_at",
        "actor_kind",
        "actor_id",
        "action",
        "outcome",
        "merchant_id",
        "object_type",
        "object_id",
        "request_id",
        "origin",
        "details_json",
    )
    readonly_fields = fields

    @admin.display(description="outcome", ordering="outcome")
    def outcome_badge(self, obj):
        tone = {"success": "on", "denied": "warn", "failure": "off"}.get(obj.outcome, "off")
        return format_html('<span class="vault-badge vault-badge-{}">{}</span>', tone, obj.outcome)

    @admin.display(description="details")
    def details_json(self, obj):
        return format_html("<pre class='vault-json'>{}</pre>", json.dumps(obj.details, indent=2, sort_keys=True))
