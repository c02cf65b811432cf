"""Shared pieces of the console's ModelAdmins: the acting admin, and the guard on secret columns."""

from django.contrib import admin
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest

from audit.actors import Actor

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
