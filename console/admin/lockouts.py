"""The console's page of locked-out accounts: who is locked, from where, and an unlock with a reason.

Those who manage console users (administrators, superusers) see it. Lifting a lock-out forgets the
account's failed attempts and is audited (`admin.unlock`) with the reason typed on the confirmation.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from console.admin.base import VaultModelAdmin, admin_actor
from console.lockouts import locked_attempts, sign_in_unlock
from console.models import LockedSignIn
from console.site import vault_admin


class UnlockForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Recorded in the audit trail: who asked, and how you checked it was them.",
    )


@admin.register(LockedSignIn, site=vault_admin)
class LockedSignInAdmin(VaultModelAdmin):
    list_display = ("username", "ip_address", "failures_since_start", "attempt_time")
    list_display_links = None
    search_fields = ("username",)
    ordering = ("-attempt_time",)
    actions = ("unlock_selected",)

    def get_queryset(self, request):
        return locked_attempts(viewer=request.user)

    def _manages_users(self, request) -> bool:
        return request.user.is_active and request.user.has_perm("auth.change_user")

    def has_module_permission(self, request):
        return self._manages_users(request)

    def has_view_permission(self, request, obj=None):
        return self._manages_users(request)

    def has_unlock_permission(self, request):
        return self._manages_users(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Unlock selected accounts", permissions=["unlock"])
    def unlock_selected(self, request, queryset):
        usernames = sorted(set(queryset.values_list("username", flat=True)))
        form = UnlockForm(request.POST if "reason" in request.POST else None)
        if form.is_bound and form.is_valid():
            unlocked = sign_in_unlock(
                actor=admin_actor(request), usernames=usernames, reason=form.cleaned_data["reason"]
            )
            self.message_user(request, f"Unlocked {', '.join(unlocked) or 'nobody'}.", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Unlock these accounts?",
            "opts": self.opts,
            "form": form,
            "usernames": usernames,
            "attempt_ids": list(queryset.values_list("pk", flat=True)),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "action": "unlock_selected",
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "console/unlock_confirm.html", context)
