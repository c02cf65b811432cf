"""A console superuser proven by a current code from their authenticator, for the operator commands
that need a person's say-so (shredding a merchant, removing exported audit rows)."""

import getpass
import sys

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django_otp import devices_for_user


def authenticated_superuser(username: str, code: str | None):
    """The active superuser *username*, once *code* (asked for on a terminal when None) matches one of
    their confirmed authenticators; CommandError otherwise."""
    user = get_user_model().objects.filter(username=username, is_active=True, is_superuser=True).first()
    if user is None:
        raise CommandError(f"{username!r} is not an active superuser")
    if code is None:
        if not sys.stdin.isatty():
            raise CommandError("give --code: a current code from your authenticator")
        code = getpass.getpass(f"code from {username}'s authenticator: ")
    if not any(device.verify_token(code.strip()) for device in devices_for_user(user, confirmed=True)):
        raise CommandError(f"that code does not match an authenticator of {username!r}")
    return user
