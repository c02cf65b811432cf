"""WSGI entry point for production servers."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vault_project.settings")

from core.wsgi_guard import CharsetGuard

application = CharsetGuard(get_wsgi_application())
