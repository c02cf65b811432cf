"""Console pages for console access: users, roles and authenticators.

Administrators create console users; superusers alone grant the Support role, superuser status or
single permissions, change another member's password or roles, and remove authenticators. Every
change is audited in the vault's trail. An authenticator's secret is never shown.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from console import roles
from console.admin.base import VaultModelAdmin, admin_actor
from console.services import (
    enrolment_code_issue,
    enrolment_code_required,
    group_deleted,
    group_permissions,
    group_saved,
    password_changed,
    totp_device_remove,
    user_changed,
    user_created,
    user_deleted,
)
from console.site import vault_admin


class ConsoleUserCreationForm(AdminUserCreationForm):
    """Django's form for a new user, with the console role to give them."""

    role = forms.ChoiceField(
        required=False, help_text="Giving the Support role (it sees cardholder data) needs a superuser."
    )

    class Meta(AdminUserCreationForm.Meta):
        fields = ("username",)


# Fields that grant access. Posted to a page that shows them read-only, they are a crafted form.
ACCESS_FIELDS = frozenset({"groups", "is_superuser", "user_permissions", "is_staff", "is_active"})


@admin.register(User, site=vault_admin)
class VaultUserAdmin(UserAdmin, VaultModelAdmin):
    """Nobody raises their own access: only superusers change another member's password, roles or
    authenticators, nobody changes their own roles, and administrators may create console users but
    not give anyone the Support role."""

    add_form = ConsoleUserCreationForm
    change_form_template = "console/user_change_form.html"
    add_fieldsets = ((None, {"fields": ("username", "usable_password", "password1", "password2", "role")}),)
    list_display = ("username", "email", "role_names", "is_active", "is_superuser", "last_login")
    list_filter = ("is_active", "is_superuser", "groups")
    search_fields = ("username", "email")
    restricted_fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("Access", {"fields": ("is_active", "is_staff", "groups")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )

    @admin.display(description="roles")
    def role_names(self, obj):
        return ", ".join(group.name for group in obj.groups.all()) or "—"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return super().get_fieldsets(request, obj)
        fieldsets = super().get_fieldsets(request, obj) if request.user.is_superuser else self.restricted_fieldsets
        return (*fieldsets, ("Authenticator", {"fields": ("authenticator",)}))

    @admin.display(description="authenticator")
    def authenticator(self, obj):
        if TOTPDevice.objects.filter(user=obj, confirmed=True).exists():
            return "enrolled"
        if enrolment_code_required(obj):
            return "removed: a new one needs an enrolment code from a superuser"
        return "none yet: the first sign-in enrols one"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        object_id = self._escaped(request, object_id)
        user = self.get_object(request, unquote(object_id))
        if request.user.is_superuser and user is not None and enrolment_code_required(user):
            url = reverse("admin:auth_user_enrolment_code", args=[user.pk], current_app=self.admin_site.name)
            extra_context = {**(extra_context or {}), "enrolment_code_url": url}
        return super().change_view(request, object_id, form_url, extra_context)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        if request.user.is_superuser:
            # Not even a superuser changes their own roles and rights: another superuser does.
            own = ("groups", "is_superuser", "user_permissions") if obj.pk == request.user.pk else ()
            return (*own, "authenticator")
        readonly = ["username", "is_staff", "groups", "last_login", "date_joined", "authenticator"]
        if obj.pk == request.user.pk:
            readonly.append("is_active")
        return tuple(readonly)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST" and object_id is not None:
            user = self.get_object(request, unquote(object_id))
            if user is not None:
                # The page does not offer these fields to this user: posting them is an attempt to
                # raise access (a crafted form). Refuse it, and the refusal is audited.
                offered = set(flatten_fieldsets(self.get_fieldsets(request, user))) - set(
                    self.get_readonly_fields(request, user)
                )
                posted = sorted(ACCESS_FIELDS & set(request.POST) - offered)
                if posted:
                    raise PermissionDenied(f"read-only access fields posted: {', '.join(posted)}")
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is None:
            choices = [("", "no role yet")] + [
                (name, name) for name in roles.ROLE_PERMISSIONS if request.user.is_superuser or name != roles.SUPPORT
            ]
            form.base_fields["role"].choices = choices
        return form

    def has_change_permission(self, request, obj=None):
        # Changing a superuser (or their password) is for superusers only.
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        # Deactivate instead: the audit trail names users by their username.
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        user_deleted(actor=admin_actor(request), user_id=obj.pk, username=obj.get_username())
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            user_deleted(actor=admin_actor(request), user_id=user.pk, username=user.get_username())
        super().delete_queryset(request, queryset)

    def user_change_password(self, request, id, form_url=""):
        # Setting another member's password is a takeover: superusers only. Everyone changes their
        # own through "Change password", which asks for the current one.
        if not request.user.is_superuser:
            raise PermissionDenied
        with transaction.atomic():  # the new password and its audit row commit together
            return super().user_change_password(request, id, form_url)

    def get_urls(self):
        issue = path(
            "<id>/enrolment-code/",
            self.admin_site.admin_view(self.enrolment_code_view),
            name="auth_user_enrolment_code",
        )
        return [issue, *super().get_urls()]

    def enrolment_code_view(self, request, id):
        """A superuser issues a one-time code that lets the user enrol a new authenticator; shown once."""
        if not request.user.is_superuser:
            raise PermissionDenied
        user = self.get_object(request, unquote(id))
        if user is None:
            raise Http404
        context = {
            **self.admin_site.each_context(request),
            "title": "Enrolment code",
            "subject": user,
            "opts": self.opts,
        }
        if request.method == "POST":
            context["code"] = enrolment_code_issue(actor=admin_actor(request), user=user)
        response = TemplateResponse(request, "console/enrolment_code.html", context)
        response.render()
        response["Cache-Control"] = "no-store"
        return response

    def log_change(self, request, obj, message):
        if request.path.rstrip("/").endswith("/password"):
            password_changed(actor=admin_actor(request), user=obj)
        return super().log_change(request, obj, message)

    def save_model(self, request, obj, form, change):
        if not change:
            # Everyone created here is console staff; the first sign-in enrols their authenticator.
            obj.is_staff = True
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        user = form.instance
        roles_before = sorted(user.groups.values_list("name", flat=True)) if change else []
        super().save_related(request, form, formsets, change)
        actor = admin_actor(request)
        if not change:
            role = form.cleaned_data.get("role") or None
            if role:
                user.groups.add(Group.objects.get(name=role))
            user_created(actor=actor, user=user, role=role)
        elif form.changed_data or roles_before != sorted(user.groups.values_list("name", flat=True)):
            user_changed(actor=actor, user=user, fields=form.changed_data, roles_before=roles_before)


@admin.register(Group, site=vault_admin)
class VaultGroupAdmin(GroupAdmin, VaultModelAdmin):
    """Roles and their permissions: superusers only, every change audited with what was gained and lost."""

    list_display = ("name",)

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def save_related(self, request, form, formsets, change):
        group = form.instance
        before = group_permissions(group) if change else []
        super().save_related(request, form, formsets, change)
        group_saved(
            actor=admin_actor(request),
            group=group,
            created=not change,
            name_before=form.initial.get("name", "") if change else "",
            permissions_before=before,
        )

    def delete_model(self, request, obj):
        group_deleted(
            actor=admin_actor(request),
            group_id=obj.pk,
            name=obj.name,
            permissions=group_permissions(obj),
            members=sorted(obj.user_set.values_list("username", flat=True)),
        )
        super().delete_model(request, obj)


@admin.register(TOTPDevice, site=vault_admin)
class TOTPDeviceAdmin(VaultModelAdmin):
    list_display = ("user", "name", "confirmed", "created_at", "last_used_at")
    list_filter = ("confirmed",)
    search_fields = ("user__username",)
    fields = ("user", "name", "confirmed", "created_at", "last_used_at")
    readonly_fields = fields
    list_select_related = ("user",)
    actions = ()

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Removing someone's authenticator opens their account to a new enrolment: superusers only.
        return request.user.is_superuser

    def delete_model(self, request, obj):
        totp_device_remove(actor=admin_actor(request), device=obj)
