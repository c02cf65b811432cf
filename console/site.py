"""The restricted admin console: Django's admin behind a password, a TOTP code and two roles.

Every page needs a session verified by a second factor (django-otp); sign-in is two steps (see
console/views.py). The index groups the models by what each role does, and a refused page is the
console's own 403 page rather than the API's JSON error.
"""

from functools import update_wrapper

from django.contrib.admin.exceptions import DisallowedModelAdminLookup
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django_otp.admin import OTPAdminSite

from console import views
from console.admin.base import admin_actor
from console.services import denied

# The index's sections: (title, description, [(app label, model name)]). A user sees a section
# only when they may view at least one model in it.
SECTIONS = (
    (
        "Merchants and API keys",
        "Tenants, their profiles and the keys their systems call the vault with.",
        [("merchants", "Merchant"), ("merchants", "Profile"), ("merchants", "ApiKey")],
    ),
    (
        "Card data (masked)",
        "Customers and their payment methods. Card numbers never appear here.",
        [("customers", "Customer"), ("tokens", "PaymentMethod")],
    ),
    (
        "Audit trail",
        "Who did what, when, and with which outcome. Read-only.",
        [("audit", "AuditEvent")],
    ),
    (
        "Console access",
        "The people who may sign in here, their roles, their authenticators and locked accounts.",
        [("auth", "User"), ("auth", "Group"), ("otp_totp", "TOTPDevice"), ("console", "LockedSignIn")],
    ),
)


class VaultAdminSite(OTPAdminSite):
    site_header = "Card Vault console"
    site_title = "Card Vault console"
    index_title = "Console"
    site_url = None  # no "view site" link: the vault has no public site
    # The index lists everything a role uses; lists get the full width.
    enable_nav_sidebar = False
    index_template = "console/index.html"

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)
        # Nothing is deleted in bulk through the console.
        self.disable_action("delete_selected")

    def get_urls(self):
        urls = [
            path("login/otp/", self._sign_in_view(views.otp_step), name="otp"),
            # Ahead of the admin's own: signing out needs no verified session (the code step offers it).
            path("logout/", self._sign_in_view(views.sign_out), name="logout"),
        ]
        return urls + super().get_urls()

    def _sign_in_view(self, view):
        def wrapped(request, *args, **kwargs):
            return view(request, site=self)

        return update_wrapper(wrapped, view)

    def login(self, request, extra_context=None):
        return views.password_step(request, site=self)

    def admin_view(self, view, cacheable=False):
        def guarded(request, *args, **kwargs):
            try:
                return view(request, *args, **kwargs)
            except PermissionDenied as refusal:
                return self.forbidden(request, reason=str(refusal))
            except DisallowedModelAdminLookup:
                # A filter the page does not offer (say, on a secret column): the console's page, not JSON.
                context = {**self.each_context(request), "title": "Filter not allowed"}
                return TemplateResponse(request, "console/bad_filter.html", context, status=400)

        return super().admin_view(update_wrapper(guarded, view), cacheable)

    def forbidden(self, request, reason: str = "") -> TemplateResponse:
        denied(actor=admin_actor(request), method=request.method or "", path=request.path, reason=reason)
        context = {**self.each_context(request), "title": "Not allowed"}
        return TemplateResponse(request, "console/forbidden.html", context, status=403)

    def get_app_list(self, request, app_label=None):
        app_list = super().get_app_list(request, app_label)
        if app_label is not None:
            return app_list
        models = {(app["app_label"], model["object_name"]): model for app in app_list for model in app["models"]}
        sections = []
        for title, description, members in SECTIONS:
            entries = [models[member] for member in members if member in models]
            if entries:
                sections.append(
                    {
                        "name": title,
                        "description": description,
                        "app_label": members[0][0],
                        "app_url": entries[0]["admin_url"],
                        "has_module_perms": True,
                        "models": entries,
                    }
                )
        return sections

    def each_context(self, request):
        context = super().each_context(request)
        context["console_logout_url"] = reverse("admin:logout", current_app=self.name)
        return context


vault_admin = VaultAdminSite(name="admin")
