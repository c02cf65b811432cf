"""Every console page: Django's admin autodiscovery imports this module, which registers them all."""

from console.admin import audit, customers, lockouts, merchants, payment_methods, proxy, users  # noqa: F401
