"""Console pages for tenancy: merchants, profiles and API keys.

Every write goes through a service that audits it. A key's plaintext is shown once, on the page
that answers its issuance, and is never stored, logged or put in the admin's history.
"""

import secrets

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from console.admin.base import VaultModelAdmin, admin_actor
from console.forms import ApiKeyIssueForm, MerchantShredForm
from console.site import vault_admin
from merchants.credential_cache import revocation_reach_seconds
from merchants.models import ApiKey, ApiKeyState, Merchant, Profile, api_key_state_condition
from merchants.scopes import PAYMENT_METHODS_REVEAL
from merchants.services import (
    ApprovalRefused,
    api_key_approve,
    api_key_issue,
    api_key_revoke,
    merchant_create,
    merchant_rename,
    profile_create,
    profile_update,
)
from tokens.shredding import ShredRefused, pending_request, shred_approve, shred_cancel, shred_request

ISSUE_TOKEN_FIELD = "issue_token"  # noqa: S105 - a form field's name, not a secret
_OPEN_TOKENS, _SPENT_TOKENS = "console_issue_tokens", "console_issue_tokens_spent"
_TOKENS_KEPT = 10


def _new_issue_token(request) -> str:
    token = secrets.token_urlsafe(18)
    request.session[_OPEN_TOKENS] = [*request.session.get(_OPEN_TOKENS, [])[-(_TOKENS_KEPT - 1) :], token]
    return token


def _spend_issue_token(request, token: str) -> str:
    """ "spent" (it was open and is spent now), "reused" (spent before: a reload) or "unknown"."""
    open_tokens = request.session.get(_OPEN_TOKENS, [])
    if token and token in open_tokens:
        request.session[_OPEN_TOKENS] = [t for t in open_tokens if t != token]
        request.session[_SPENT_TOKENS] = [*request.session.get(_SPENT_TOKENS, [])[-(_TOKENS_KEPT - 1) :], token]
        return "spent"
    return "reused" if token and token in request.session.get(_SPENT_TOKENS, []) else "unknown"


def _unspend_issue_token(request, token: str) -> None:
    """A form sent back with errors issued nothing: its token stays open for the corrected form."""
    request.session[_SPENT_TOKENS] = [t for t in request.session.get(_SPENT_TOKENS, []) if t != token]


def _adopt(obj, created) -> None:
    """Make the admin's unsaved *obj* stand for the row a service *created* (for redirects and history)."""
    for field in obj._meta.concrete_fields:
        setattr(obj, field.attname, getattr(created, field.attname))
    obj._state.adding = False
    obj._state.db = created._state.db


@admin.register(Merchant, site=vault_admin)
class MerchantAdmin(VaultModelAdmin):
    list_display = ("name", "id", "profile_count", "live_key_count", "created_at")
    search_fields = ("=id", "name")
    readonly_fields = ("id", "created_at", "profile_table", "api_key_table")
    ordering = ("name",)

    def get_queryset(self, request):
        live = api_key_state_condition(ApiKeyState.LIVE, through="api_keys__")
        return (
            super()
            .get_queryset(request)
            .annotate(
                profile_total=Count("profiles", distinct=True),
                live_key_total=Count("api_keys", filter=live, distinct=True),
            )
        )

    @admin.display(description="profiles", ordering="profile_total")
    def profile_count(self, obj):
        return obj.profile_total

    @admin.display(description="live keys", ordering="live_key_total")
    def live_key_count(self, obj):
        return obj.live_key_total

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("name",)
        # Support reads merchants to find cards; key prefixes and scopes are for those who manage keys.
        keys = ("api_key_table",) if request.user.has_perm("merchants.view_apikey") else ()
        return ("id", "name", "created_at", "profile_table", *keys)

    @admin.display(description="profiles")
    def profile_table(self, obj):
        rows = format_html_join(
            "",
            "<tr><td><a href='{}'>{}</a></td><td>{}</td><td>{}</td></tr>",
            (
                (
                    reverse("admin:merchants_profile_change", args=[profile.pk], current_app=self.admin_site.name),
                    profile.pk,
                    profile.name,
                    "network tokens on" if profile.network_tokenization_enabled else "network tokens off",
                )
                for profile in obj.profiles.order_by("created_at")
            ),
        )
        return format_html("<table><tbody>{}</tbody></table>", rows) if rows else "—"

    @admin.display(description="API keys")
    def api_key_table(self, obj):
        rows = format_html_join(
            "",
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    key.prefix,
                    key.name or "—",
                    ", ".join(key.scopes) if isinstance(key.scopes, list) else "",
                    key.state.value,
                )
                for key in obj.api_keys.order_by("-created_at")
            ),
        )
        return format_html("<table><tbody>{}</tbody></table>", rows) if rows else "—"

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            current = Merchant.objects.get(pk=obj.pk)
            merchant_rename(actor=admin_actor(request, merchant_id=obj.pk), merchant=current, name=obj.name)
        else:
            # With a profile from the start: a merchant's systems call with a key and a profile id.
            created = merchant_create(actor=admin_actor(request), name=obj.name)
            profile_create(actor=admin_actor(request, merchant_id=created.id), merchant=created, name="default")
            _adopt(obj, created)

    def save_related(self, request, form, formsets, change):
        # Inlines are read-only; nothing else hangs off a merchant here.
        return None

    def change_view(self, request, object_id, form_url="", extra_context=None):
        object_id = self._escaped(request, object_id)
        extra_context = extra_context or {}
        if request.user.has_perm("merchants.add_apikey"):
            add_url = reverse("admin:merchants_apikey_add", current_app=self.admin_site.name)
            extra_context["issue_key_url"] = f"{add_url}?{urlencode({'merchant': unquote(object_id)})}"
        if request.user.has_perm("merchants.add_profile"):
            add_url = reverse("admin:merchants_profile_add", current_app=self.admin_site.name)
            extra_context["add_profile_url"] = f"{add_url}?{urlencode({'merchant': unquote(object_id)})}"
        if request.user.is_superuser:
            extra_context["shred_url"] = reverse(
                "admin:merchants_merchant_shred", args=[unquote(object_id)], current_app=self.admin_site.name
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        shred = path(
            "<path:object_id>/shred/", self.admin_site.admin_view(self.shred_view), name="merchants_merchant_shred"
        )
        return [shred, *super().get_urls()]

    def shred_view(self, request, object_id):
        """Crypto-shred, superusers only: one requests, a second approves (tokens/shredding.py)."""
        if not request.user.is_superuser:
            raise PermissionDenied
        merchant = self.get_object(request, unquote(self._escaped(request, object_id)))
        if merchant is None:
            raise Http404
        pending = pending_request(merchant)
        form = MerchantShredForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            actor = admin_actor(request, merchant_id=merchant.id)
            data = form.cleaned_data
            try:
                if data["decision"] == "cancel" and pending is not None:
                    shred_cancel(actor=actor, user=request.user, request=pending)
                    messages.info(request, "The shred request was cancelled.")
                elif data["decision"] == "request" and pending is None:
                    shred_request(
                        actor=actor,
                        user=request.user,
                        merchant=merchant,
                        reason=data["reason"],
                        confirmation=data["confirmation"],
                    )
                    messages.warning(request, "Shred requested: a second superuser must approve it on this page.")
                elif data["decision"] == "approve" and pending is not None:
                    result = shred_approve(
                        actor=actor, user=request.user, request=pending, confirmation=data["confirmation"]
                    )
                    messages.error(
                        request,
                        f"Shredded: {result.payment_methods} payment method(s) can never be read again; "
                        f"{result.api_keys} API key(s) revoked.",
                    )
                else:
                    raise ShredRefused("the request changed meanwhile: look again")
                return redirect(request.path)
            except ShredRefused as exc:
                form.add_error(None, str(exc))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Crypto-shred {merchant.name}",
            "merchant": merchant,
            "pending": pending,
            "mine": pending is not None and pending.requested_by_id == request.user.pk,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "console/merchant_shred.html", context)


@admin.register(Profile, site=vault_admin)
class ProfileAdmin(VaultModelAdmin):
    list_display = ("name", "id", "merchant", "network_tokenization_enabled", "created_at")
    list_filter = ("network_tokenization_enabled", "merchant")
    search_fields = ("=id", "name", "=merchant__id", "merchant__name")
    list_select_related = ("merchant",)
    ordering = ("merchant__name", "name")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("merchant", "name", "network_tokenization_enabled")
        return ("id", "merchant", "name", "network_tokenization_enabled", "created_at")

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else ("id", "merchant", "created_at")

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            actor = admin_actor(request, merchant_id=obj.merchant_id)
            profile_update(
                actor=actor,
                profile=Profile.objects.get(pk=obj.pk),
                name=obj.name,
                network_tokenization_enabled=obj.network_tokenization_enabled,
            )
        else:
            created = profile_create(
                actor=admin_actor(request, merchant_id=obj.merchant_id),
                merchant=obj.merchant,
                name=obj.name,
                network_tokenization_enabled=obj.network_tokenization_enabled,
            )
            _adopt(obj, created)


class KeyStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return ApiKeyState.choices

    def queryset(self, request, queryset):
        if self.value() in ApiKeyState.values:
            return queryset.in_state(self.value())
        return queryset


@admin.register(ApiKey, site=vault_admin)
class ApiKeyAdmin(VaultModelAdmin):
    list_display = (
        "key_prefix",
        "merchant",
        "name",
        "scope_list",
        "status",
        "created_at",
        "expires_at",
        "last_used_at",
    )
    list_filter = (KeyStatusFilter, "merchant", "created_at")
    search_fields = ("=key_id", "=merchant__id", "name")
    list_select_related = ("merchant",)
    fields = ("key_prefix", "key_id", "merchant", "name", "scope_list", "status", "created_at", "expires_at")
    fields += ("issued_by", "approved_by", "approved_at", "revoked_at", "last_used_at")
    readonly_fields = fields
    actions = ("approve_selected", "revoke_selected")
    ordering = ("-created_at",)

    @admin.display(description="key", ordering="key_id")
    def key_prefix(self, obj):
        return obj.prefix

    @admin.display(description="scopes")
    def scope_list(self, obj):
        scopes = obj.scopes if isinstance(obj.scopes, list) else []
        plain = ", ".join(scope for scope in scopes if scope != PAYMENT_METHODS_REVEAL)
        if PAYMENT_METHODS_REVEAL in scopes:
            return format_html('{} <span class="vault-badge vault-badge-warn">{}</span>', plain, PAYMENT_METHODS_REVEAL)
        return plain

    @admin.display(description="status")
    def status(self, obj):
        tone = {ApiKeyState.LIVE: "on", ApiKeyState.PENDING: "warn"}.get(obj.state, "off")
        return format_html('<span class="vault-badge vault-badge-{}">{}</span>', tone, obj.state.label)

    # Keys are issued through the issuance form and revoked through the action; no field is editable.
    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_revoke_permission(self, request):
        return request.user.has_perm("merchants.change_apikey")

    def has_approve_permission(self, request):
        return request.user.has_perm("merchants.change_apikey")

    @admin.action(description="Approve selected API keys (dual control)", permissions=["approve"])
    def approve_selected(self, request, queryset):
        """The second person's approval of pending keys; the issuer's own approval is refused and audited."""
        for api_key in queryset.select_related("merchant"):
            actor = admin_actor(request, merchant_id=api_key.merchant_id)
            try:
                api_key_approve(actor=actor, api_key=api_key)
            except ApprovalRefused as exc:
                self.message_user(request, f"{api_key.prefix} not approved: {exc}.", messages.ERROR)
                continue
            self.log_change(request, api_key, [{"changed": {"fields": ["approved_at"]}}])
            self.message_user(request, f"{api_key.prefix} approved: it authenticates from now on.", messages.SUCCESS)

    def add_view(self, request, form_url="", extra_context=None):
        """Issue a key: the form, then a page that shows the plaintext once and is never cached.

        Each form carries a one-time token kept in the session: reloading the page that showed the
        key re-posts a spent token and issues nothing."""
        if not self.has_add_permission(request):
            return self.admin_site.forbidden(request)
        if request.method == "POST":
            form = ApiKeyIssueForm(request.POST)
            spent = _spend_issue_token(request, request.POST.get(ISSUE_TOKEN_FIELD, ""))
            if spent == "reused":
                return self._already_issued_page(request)
            if spent == "unknown":
                form.add_error(None, "This form has expired. Check the values and submit it again.")
            elif form.is_valid():
                merchant = form.cleaned_data["merchant"]
                issued = api_key_issue(
                    actor=admin_actor(request, merchant_id=merchant.id),
                    merchant=merchant,
                    scopes=form.cleaned_data["scopes"],
                    name=form.cleaned_data["name"],
                    expires_at=form.cleaned_data["expires_at"],
                )
                # The history names the key by its id (str(api_key)); the plaintext goes nowhere but the page.
                self.log_addition(request, issued.api_key, [{"added": {}}])
                return self._issued_page(request, issued)
            else:
                _unspend_issue_token(request, request.POST.get(ISSUE_TOKEN_FIELD, ""))
        else:
            form = ApiKeyIssueForm(initial={"merchant": request.GET.get("merchant")})
        context = {
            **self.admin_site.each_context(request),
            "title": "Issue an API key",
            "form": form,
            "opts": self.opts,
            "has_view_permission": self.has_view_permission(request),
            "reveal_scope": PAYMENT_METHODS_REVEAL,
            "issue_token_field": ISSUE_TOKEN_FIELD,
            "issue_token": _new_issue_token(request),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "console/api_key_issue.html", context)

    def _already_issued_page(self, request) -> HttpResponse:
        context = {**self.admin_site.each_context(request), "title": "Key already issued", "opts": self.opts}
        request.current_app = self.admin_site.name
        response = TemplateResponse(request, "console/api_key_already_issued.html", context, status=409)
        response.render()
        response["Cache-Control"] = "no-store"
        return response

    def _issued_page(self, request, issued) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": "API key issued",
            "opts": self.opts,
            "api_key": issued.api_key,
            "plaintext": issued.plaintext,
            "profiles": issued.api_key.merchant.profiles.order_by("created_at"),
            "has_view_permission": self.has_view_permission(request),
        }
        request.current_app = self.admin_site.name
        response = TemplateResponse(request, "console/api_key_issued.html", context)
        response.render()
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        return response

    @admin.action(description="Revoke selected API keys", permissions=["revoke"])
    def revoke_selected(self, request, queryset):
        keys = list(queryset.select_related("merchant"))
        if request.POST.get("confirm") == "yes":
            revoked = 0
            for api_key in keys:
                if api_key.revoked_at is None:
                    api_key_revoke(actor=admin_actor(request, merchant_id=api_key.merchant_id), api_key=api_key)
                    self.log_change(request, api_key, [{"changed": {"fields": ["revoked_at"]}}])
                    revoked += 1
            self.message_user(
                request,
                f"Revoked {revoked} API key(s). They fail authentication at once on this instance and within "
                f"{revocation_reach_seconds():g} second(s) on every other.",
                messages.SUCCESS,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Revoke API keys?",
            "opts": self.opts,
            "keys": keys,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "action": "revoke_selected",
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "console/api_key_revoke_confirm.html", context)
