"""Helpers for console tests: users in each role, OTP-verified clients, and the card-number scan."""

import re
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from console import roles
from core.card_numbers import contains_card_number

ADMIN = f"/{settings.VAULT_ADMIN_PATH}"
PASSWORD = "Vault-console-Passw0rd!"
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
# Ids and fingerprints are hex; a run of 32+ hex characters is not a card number, whatever its digits.
_HEX_RUN = re.compile(r"[0-9a-fA-F]{32,}", re.ASCII)
# The admin's icons and style sheets are drawing coordinates, not data: "1.414-1.414 2.121" is no card.
_CHROME = re.compile(r"<svg\b.*?</svg>|<style\b.*?</style>", re.DOTALL | re.IGNORECASE)


@dataclass
class ConsoleUser:
    user: User
    device: TOTPDevice | None


def make_console_user(
    username: str, role: str | None = roles.ADMINISTRATORS, *, superuser: bool = False, enrolled: bool = True
) -> ConsoleUser:
    user = User.objects.create_user(
        username=username, email=f"{username}@vault.test", password=PASSWORD, is_staff=True, is_superuser=superuser
    )
    if role:
        if not Group.objects.filter(name=role).exists():
            ensure_roles()
        user.groups.add(Group.objects.get(name=role))
    device = TOTPDevice.objects.create(user=user, name="test", confirmed=True) if enrolled else None
    return ConsoleUser(user=user, device=device)


def verified_client(console_user: ConsoleUser) -> Client:
    """A client signed in with password and second factor, as django_otp.login() leaves a session."""
    client = Client()
    client.force_login(console_user.user, backend=MODEL_BACKEND)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = console_user.device.persistent_id
    session.save()
    return client


def current_code(device: TOTPDevice) -> str:
    """The code the user's authenticator app would show now."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift):06d}"


def leaked_card_number(text: str, numbers: list[str] = ()) -> str | None:
    """Return what looks like a card number in *text* (a stored number, or any Luhn-valid run), or None."""
    for number in numbers:
        if number in text:
            return number
    stripped = _HEX_RUN.sub(" ", _CHROME.sub(" ", text))
    if contains_card_number(stripped):
        return "a Luhn-valid 12-19 digit run"
    return None


def ensure_roles() -> None:
    """Re-create the role groups after a transactional test's flush removed the migration's rows."""
    from django.contrib.auth.models import Permission

    for name, pairs in roles.ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(
            [Permission.objects.get(content_type__app_label=app, codename=codename) for app, codename in pairs]
        )


def post_issue_form(client: Client, data: dict):
    """Post the API-key issuance form as a browser does: with the one-time token its page carried."""
    page = client.get(f"{ADMIN}merchants/apikey/add/").content.decode()
    token = re.search(r'name="issue_token" value="([^"]+)"', page).group(1)
    return client.post(f"{ADMIN}merchants/apikey/add/", {**data, "issue_token": token})
