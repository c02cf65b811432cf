from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The restricted admin console: roles, two-factor sign-in, and the console's own services."""

    name = "console"
    verbose_name = "Console access"
