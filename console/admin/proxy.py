"""Console pages for the proxy allowlist: administrators add a destination (pending), a second
person approves it, anyone with the right revokes it. Every act goes through proxy/services.py,
which audits it; nothing here is editable in place."""

from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from console.admin.base import VaultModelAdmin, admin_actor
from console.forms import ProxyDestinationAddForm
from console.site import vault_admin
from core.errors import VaultError
from proxy.models import ProxyDestination
from proxy.services import DestinationRefused, destination_add, destination_approve, destination_revoke


@admin.register(ProxyDestination, site=vault_admin)
class ProxyDestinationAdmin(VaultModelAdmin):
    list_display = ("origin", "merchant", "status", "custom_ca", "added_by", "approved_by", "added_at")
    list_filter = ("state", "merchant")
    search_fields = ("=merchant__id", "host")
    list_select_related = ("merchant",)
    fields = ("origin", "merchant", "status", "custom_ca", "added_by", "added_at", "approved_by", "approved_at")
    fields += ("revoked_at",)
    readonly_fields = fields
    actions = ("approve_selected", "revoke_selected")
    ordering = ("merchant__name", "host", "port")

    @admin.display(description="destination", ordering="host")
    def origin(self, obj):
        return obj.origin

    @admin.display(description="status", ordering="state")
    def status(self, obj):
        tone = {ProxyDestination.State.ACTIVE: "on", ProxyDestination.State.PENDING: "warn"}.get(obj.state, "off")
        return format_html('<span class="vault-badge vault-badge-{}">{}</span>', tone, obj.get_state_display())

    @admin.display(description="own CA", boolean=True)
    def custom_ca(self, obj):
        return bool(obj.ca_bundle)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_decide_permission(self, request):
        return request.user.has_perm("proxy.change_proxydestination")

    @admin.action(description="Approve selected destinations (dual control)", permissions=["decide"])
    def approve_selected(self, request, queryset):
        for destination in queryset:
            actor = admin_actor(request, merchant_id=destination.merchant_id)
            try:
                destination_approve(actor=actor, destination=destination)
            except DestinationRefused as exc:
                self.message_user(request, f"{destination.origin} not approved: {exc}.", messages.ERROR)
                continue
            self.log_change(request, destination, [{"changed": {"fields": ["state"]}}])
            self.message_user(
                request, f"{destination.origin} approved: proxy calls may go there now.", messages.SUCCESS
            )

    @admin.action(description="Revoke selected destinations", permissions=["decide"])
    def revoke_selected(self, request, queryset):
        for destination in queryset:
            try:
                destination_revoke(
                    actor=admin_actor(request, merchant_id=destination.merchant_id), destination=destination
                )
            except DestinationRefused as exc:
                self.message_user(request, f"{destination.origin}: {exc}.", messages.ERROR)
                continue
            self.log_change(request, destination, [{"changed": {"fields": ["state"]}}])
            self.message_user(request, f"{destination.origin} revoked.", messages.SUCCESS)

    def add_view(self, request, form_url="", extra_context=None):
        """Add a destination for a merchant; it stays pending until a second person approves it."""
        if not self.has_add_permission(request):
            return self.admin_site.forbidden(request)
        form = ProxyDestinationAddForm(request.POST or None, initial={"merchant": request.GET.get("merchant")})
        if request.method == "POST" and form.is_valid():
            merchant = form.cleaned_data["merchant"]
            try:
                destination = destination_add(
                    actor=admin_actor(request, merchant_id=merchant.id),
                    merchant=merchant,
                    url=form.cleaned_data["url"],
                    ca_bundle=form.cleaned_data["ca_bundle"].strip(),
                )
            except (DestinationRefused, VaultError) as exc:
                form.add_error("url", str(getattr(exc, "message", exc)))
            else:
                self.log_addition(request, destination, [{"added": {}}])
                self.message_user(
                    request,
                    f"{destination.origin} added for {merchant.name}: it receives nothing until a second person "
                    "approves it.",
                    messages.WARNING,
                )
                return redirect(reverse("admin:proxy_proxydestination_changelist", current_app=self.admin_site.name))
        context = {
            **self.admin_site.each_context(request),
            "title": "Allow a proxy destination",
            "form": form,
            "opts": self.opts,
            "has_view_permission": self.has_view_permission(request),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "console/proxy_destination_add.html", context)
