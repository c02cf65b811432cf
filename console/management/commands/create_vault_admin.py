"""Create a console user: a staff user in one role, with an authenticator to enrol.

    python manage.py create_vault_admin alice --email alice@example.com            # Vault administrators
    python manage.py create_vault_admin bob --support                              # Support
    python manage.py create_vault_admin carol --superuser                          # everything

The password is asked for twice (or read from standard input with --password-stdin). The command
prints an otpauth:// URL to enrol the user's authenticator app; the same QR code is shown at the
user's first sign-in, and the authenticator counts only once its first code has been confirmed there.
"""

import getpass
import sys

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from audit.actors import operator_actor
from console import roles
from console.services import admin_user_create


class Command(BaseCommand):
    help = "Create a console user in a role (Vault administrators by default) and print their TOTP enrolment URL."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        role = parser.add_mutually_exclusive_group()
        role.add_argument("--support", action="store_true", help="Create a Support user (masked, read-only).")
        role.add_argument("--superuser", action="store_true", help="Create a superuser (all permissions).")
        parser.add_argument(
            "--password-stdin", action="store_true", help="Read the password from the first line of standard input."
        )

    def handle(self, *args, username: str, email: str, support: bool, superuser: bool, password_stdin: bool, **opts):
        user_model = get_user_model()
        if user_model.objects.filter(username=username).exists():
            raise CommandError(f"A user named {username!r} exists already.")
        password = self._read_password(password_stdin)
        try:
            password_validation.validate_password(password, user_model(username=username, email=email))
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc

        role = roles.SUPPORT if support else roles.ADMINISTRATORS
        created = admin_user_create(
            actor=operator_actor(), username=username, email=email, password=password, role=role
        )
        if superuser:
            created.user.is_superuser = True
            created.user.save(update_fields=["is_superuser"])

        self.stdout.write(f"Created console user {username!r} ({'superuser' if superuser else role}).")
        self.stdout.write("Enrol their authenticator app with this URL (or its QR code at the first sign-in):")
        self.stdout.write(f"  {created.device.config_url}")
        self.stdout.write(
            "The URL holds the second factor's secret: hand it over as carefully as the password. The authenticator "
            "counts once its first code is confirmed at sign-in."
        )

    def _read_password(self, from_stdin: bool) -> str:
        if from_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords differ.")
        if not password:
            raise CommandError("A password is required.")
        return password
