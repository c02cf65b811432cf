"""Shared pieces of the console's ModelAdmins: the acting admin, and the guard on secret columns."""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db import transaction
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest
from django.template.response import TemplateResponse

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_record
from core.errors import DependencyUnavailable

# Columns no console page shows, searches, filters or orders by. Their names are refused in any
# query-string lookup, so a filter cannot be turned into an oracle (`?card_fingerprint__startswith=`).
SECRET_COLUMNS = frozenset(
    {
        "sealed_card",
        "kek_version",
        "card_fingerprint",
        "network_token_par",
        "secret_hash",
        "key",
        "password",
        "document_details",
        "tax_registration_id",
    }
)


def admin_actor(request: HttpRequest, *, merchant_id: str = "") -> Actor:
    """The audit actor for the signed-in console user."""
    return Actor(
        kind="admin",
        id=request.user.get_username()[:150],
        merchant_id=merchant_id,
        request_id=getattr(request, "request_id", ""),
        origin=request.META.get("REMOTE_ADDR", "")[:64],
    )


class VaultModelAdmin(admin.ModelAdmin):
    """A ModelAdmin that allows query-string lookups only through its own filters, never on secrets."""

    # Field names a link may filter on besides those in list_filter (say, a customer's cards).
    extra_lookups: tuple[str, ...] = ()
    list_per_page = 50

    def lookup_allowed(self, lookup, value, request=None):
        parts = lookup.split(LOOKUP_SEP)
        if any(part in SECRET_COLUMNS for part in parts):
            return False
        filtered = {
            entry if isinstance(entry, str) else entry[0] for entry in self.list_filter if not isinstance(entry, type)
        }
        if parts[0] not in filtered | set(self.extra_lookups):
            return False
        return super().lookup_allowed(lookup, value, request)


class ReadOnlyModelAdmin(VaultModelAdmin):
    """Vault data is read, never written, through the console: no add, change or delete for anyone."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AuditedReadOnlyModelAdmin(ReadOnlyModelAdmin):
    """A read-only page of merchant data whose detail view is audited before it is shown.

    If the audit event cannot be written, the page is not shown (503): no audit, no card data.
    """

    audit_action: AuditAction
    audit_object_type: str

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not self.has_view_permission(request, obj):
            return super().change_view(request, object_id, form_url, extra_context)
        try:
            with transaction.atomic():
                audit_record(
                    actor=admin_actor(request, merchant_id=obj.merchant_id),
                    action=self.audit_action,
                    object_type=self.audit_object_type,
                    object_id=obj.pk,
                    merchant_id=obj.merchant_id,
                )
        except DependencyUnavailable:
            return TemplateResponse(
                request, "console/unavailable.html", {**self.admin_site.each_context(request)}, status=503
            )
        return super().change_view(request, object_id, form_url, extra_context)
