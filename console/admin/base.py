"""Shared pieces of the console's ModelAdmins: the acting admin, and the guard on secret columns."""

from django.contrib import admin
from django.contrib.admin.utils import quote, unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_record
from core.client_address import client_address
from core.errors import DependencyUnavailable

# Columns no console page shows, searches, filters or orders by. Their names are refused in any
# query-string lookup, so a filter cannot be turned into an oracle (`?card_fingerprint__startswith=`).
SECRET_COLUMNS = frozenset(
    {
        "sealed_card",
        "sealed_cvc",
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
        origin=client_address(request),
    )


class LiteralIdChangeList(ChangeList):
    """Links to rows carry their ids as the API writes them (`mer_abc`), not in the admin's escaped
    form (`mer_5Fabc`, as Django escapes every underscore)."""

    def url_for_result(self, result):
        return reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
            args=(str(getattr(result, self.pk_attname)),),
            current_app=self.model_admin.admin_site.name,
        )


class VaultModelAdmin(admin.ModelAdmin):
    """A ModelAdmin that allows query-string lookups only through its own filters, never on secrets,
    and whose pages answer to an id as it is written as well as to Django's escaped form."""

    # Field names a link may filter on besides those in list_filter (say, a customer's cards).
    extra_lookups: tuple[str, ...] = ()
    list_per_page = 50
    empty_value_display = "—"

    def get_changelist(self, request, **kwargs):
        return LiteralIdChangeList

    def _escaped(self, request, object_id: str) -> str:
        """The id in the form Django's views unescape: a literal id (`mer_3Axyz`) that exists is
        escaped first, so that `_3A` is not read as an escaped colon; anything else is passed on."""
        if unquote(object_id) == object_id:
            return object_id
        try:
            literal = self.get_queryset(request).filter(pk=object_id).exists()
        except (ValueError, ValidationError):
            literal = False
        return quote(object_id) if literal else object_id

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return super().change_view(request, self._escaped(request, object_id), form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        return super().delete_view(request, self._escaped(request, object_id), extra_context)

    def history_view(self, request, object_id, extra_context=None):
        return super().history_view(request, self._escaped(request, object_id), extra_context)

    def lookup_allowed(self, lookup, value, request=None):
        parts = lookup.split(LOOKUP_SEP)
        if any(part in SECRET_COLUMNS for part in parts):
            return False
        filtered = {
            entry if isinstance(entry, str) else entry[0] for entry in self.list_filter if not isinstance(entry, type)
        }
        # A class-based filter (a SimpleListFilter) owns its query parameter.
        filtered |= {entry.parameter_name for entry in self.list_filter if isinstance(entry, type)}
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
        object_id = self._escaped(request, object_id)
        obj = self.get_object(request, unquote(object_id))
        # A write to a read-only page is refused by the admin (and audited as denied), not viewed.
        if obj is None or not self.has_view_permission(request, obj) or request.method != "GET":
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
