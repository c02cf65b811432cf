from django.apps import AppConfig
from django_otp.plugins.otp_totp.apps import DefaultConfig


class ConsoleConfig(AppConfig):
    """The restricted admin console: roles, two-factor sign-in, and the console's own services."""

    # This module holds a second config (below): say which one `"console"` in INSTALLED_APPS means.
    default = True
    name = "console"
    verbose_name = "Console access"

    def ready(self) -> None:
        from console import signals  # noqa: F401 - connects the sign-in receivers


class AuthenticatorsConfig(DefaultConfig):
    """django-otp's TOTP devices, named for people in the console's breadcrumbs (not "Otp_Totp")."""

    default = False
    verbose_name = "Authenticators"
