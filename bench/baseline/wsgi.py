"""WSGI entry point of the baseline: `gunicorn -c gunicorn.conf.py bench.baseline.wsgi:application`."""

import os

from django.core.wsgi import get_wsgi_application

# Forced, not defaulted: the vault's settings module may be in the environment already.
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.baseline.settings"

application = get_wsgi_application()
