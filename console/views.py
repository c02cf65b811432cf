"""Console sign-in in two steps (password, then a TOTP code or the enrolment of an authenticator),
and the CSRF failure view."""

import base64

import segno
from axes.handlers.proxy import AxesProxyHandler
from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME, logout
from django.contrib.auth import login as auth_login
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import login as otp_login
from django_otp import verify_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from console.admin.base import admin_actor
from console.forms import EnrolmentCodeForm, OTPTokenForm
from console.models import EnrolmentCode
from console.services import (
    enrolment_code_find,
    enrolment_code_required,
    record_sign_in_event,
    record_sign_out,
    totp_device_confirm,
    totp_device_for_enrolment,
)
from core.errors import VaultError
from core.responses import error_response


def _next_url(request: HttpRequest, site) -> str:
    """The page to land on after sign-in: a local path only, never another host."""
    candidate = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME) or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("admin:index", current_app=site.name)


def _is_console_user(user) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_staff)


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def password_step(request: HttpRequest, *, site) -> HttpResponse:
    """Step one: the password. It opens a session that reaches only step two."""
    next_url = _next_url(request, site)
    otp_url = reverse("admin:otp", current_app=site.name) + "?" + urlencode({REDIRECT_FIELD_NAME: next_url})
    if request.method == "GET" and _is_console_user(request.user):
        return HttpResponseRedirect(next_url if request.user.is_verified() else otp_url)
    form = AdminAuthenticationForm(request, data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        # Axes counted the attempt; cycling the session key on login defeats session fixation.
        auth_login(request, form.get_user())
        return HttpResponseRedirect(otp_url)
    context = {
        **site.each_context(request),
        "title": "Sign in",
        "form": form,
        "next": next_url,
        "app_path": request.get_full_path(),
        "step": 1,
    }
    request.current_app = site.name
    return render(request, "console/login.html", context)


@csrf_protect
@never_cache
def otp_step(request: HttpRequest, *, site) -> HttpResponse:
    """Step two: a code from the user's authenticator, or, without one yet, its enrolment by QR code."""
    user = request.user
    next_url = _next_url(request, site)
    if not _is_console_user(user):
        return HttpResponseRedirect(reverse("admin:login", current_app=site.name))
    if user.is_verified():
        return HttpResponseRedirect(next_url)

    device = TOTPDevice.objects.devices_for_user(user, confirmed=True).order_by("id").first()
    enrolling = device is None
    enrolment_code = None
    if enrolling:
        if enrolment_code_required(user):
            enrolment_code = _accepted_enrolment_code(request, user)
            if enrolment_code is None:
                return _enrolment_code_step(request, site, next_url)
        device = totp_device_for_enrolment(user=user)

    form = OTPTokenForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        credentials = {settings.AXES_USERNAME_FORM_FIELD: user.get_username()}
        if AxesProxyHandler.is_locked(request, credentials):
            logout(request)
            return _locked_out(request, site)
        verified = verify_token(user, device.persistent_id, form.cleaned_data["otp_token"])
        if verified is not None:
            if enrolling:
                totp_device_confirm(actor=admin_actor(request), device=verified, enrolment_code=enrolment_code)
                request.session.pop(_ENROLMENT_CODE_SESSION_KEY, None)
            request.session.cycle_key()
            otp_login(request, verified)
            # A complete sign-in, and only that, clears the failures counted against the username.
            axes_reset(username=user.get_username())
            record_sign_in_event(actor=admin_actor(request), failed=False, details={"enrolled": enrolling})
            return HttpResponseRedirect(next_url)
        if _count_failure(request, credentials):
            return _locked_out(request, site)
        form.add_error("otp_token", "That code is not valid. Wait for the next one and try again.")

    context = {
        **site.each_context(request),
        "title": "Set up two-factor authentication" if enrolling else "Two-factor authentication",
        "form": form,
        "next": next_url,
        "enrolling": enrolling,
        "step": 2,
        "username": user.get_username(),
    }
    if enrolling:
        context["qr_svg"] = segno.make(device.config_url, error="m").svg_inline(scale=5, border=2)
        context["secret"] = " ".join(_chunks(base64.b32encode(device.bin_key).decode(), 4))
    request.current_app = site.name
    return render(request, "console/otp.html", context)


_ENROLMENT_CODE_SESSION_KEY = "console_enrolment_code"


def _count_failure(request: HttpRequest, credentials: dict) -> bool:
    """Count a wrong code towards the same lock-out as a wrong password; True (signed out) once locked."""
    user_login_failed.send(sender=__name__, credentials=credentials, request=request)
    if getattr(request, "axes_locked_out", False):
        logout(request)
        return True
    return False


def _accepted_enrolment_code(request: HttpRequest, user) -> EnrolmentCode | None:
    """The enrolment code this session gave earlier, if it is still unused and unexpired."""
    code_id = request.session.get(_ENROLMENT_CODE_SESSION_KEY)
    if code_id is None:
        return None
    return EnrolmentCode.objects.filter(
        pk=code_id, user=user, used_at__isnull=True, expires_at__gt=timezone.now()
    ).first()


def _enrolment_code_step(request: HttpRequest, site, next_url: str) -> HttpResponse:
    """Before a new authenticator after a removed one: the one-time code a superuser issued."""
    user = request.user
    form = EnrolmentCodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        credentials = {settings.AXES_USERNAME_FORM_FIELD: user.get_username()}
        if AxesProxyHandler.is_locked(request, credentials):
            logout(request)
            return _locked_out(request, site)
        code = enrolment_code_find(user=user, code=form.cleaned_data["enrolment_code"])
        if code is not None:
            request.session[_ENROLMENT_CODE_SESSION_KEY] = code.pk
            return HttpResponseRedirect(request.get_full_path())
        if _count_failure(request, credentials):
            return _locked_out(request, site)
        form.add_error("enrolment_code", "That enrolment code is not valid, was used or has expired.")
    context = {
        **site.each_context(request),
        "title": "Enrolment code",
        "form": form,
        "next": next_url,
        "needs_enrolment_code": True,
        "step": 2,
        "username": user.get_username(),
    }
    request.current_app = site.name
    return render(request, "console/otp.html", context)


@csrf_protect
@never_cache
def sign_out(request: HttpRequest, *, site) -> HttpResponse:
    """Sign out from any step, the code step included; audited when someone was signed in."""
    if request.method != "POST":
        return HttpResponseRedirect(reverse("admin:index", current_app=site.name))
    if request.user.is_authenticated:
        record_sign_out(actor=admin_actor(request), user=request.user)
    logout(request)
    return HttpResponseRedirect(reverse("admin:login", current_app=site.name))


def _chunks(text: str, size: int) -> list[str]:
    return [text[index : index + size] for index in range(0, len(text), size)]


def _locked_out(request: HttpRequest, site) -> HttpResponse:
    context = {**site.each_context(request), "title": "Account locked"}
    return render(request, settings.AXES_LOCKOUT_TEMPLATE, context, status=settings.AXES_HTTP_RESPONSE_CODE)


class CsrfRefused(VaultError):
    status_code = 403
    code = "IR_22"
    message = "Access forbidden"


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A refused CSRF check: the console's page inside the console, the JSON envelope elsewhere."""
    if request.path.startswith(f"/{settings.VAULT_ADMIN_PATH}"):
        return render(request, "console/csrf_failure.html", {"title": "Form expired"}, status=403)
    return error_response(CsrfRefused())
