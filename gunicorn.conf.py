"""Gunicorn settings for production deployments (`make serve`). Every knob comes from the environment.

Request timeouts: a worker that takes longer than VAULT_WORKER_TIMEOUT seconds on one request is
killed and restarted (and its request fails); idle keep-alive connections close after
VAULT_KEEPALIVE seconds. Put a TLS-terminating proxy in front and set VAULT_BEHIND_TLS_PROXY=true.
"""

import multiprocessing
import os

bind = os.environ.get("VAULT_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("VAULT_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("VAULT_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("VAULT_WORKER_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("VAULT_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("VAULT_KEEPALIVE", "5"))
# Recycle workers now and then, so a slow leak never grows for long.
max_requests = int(os.environ.get("VAULT_MAX_REQUESTS", "10000"))
max_requests_jitter = max_requests // 10
# Bounded request line and headers; bodies are bounded by the vault itself (VAULT_MAX_BODY_BYTES).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
# The vault writes its own structured access log (see core/logging.py); gunicorn's would
# print query strings unredacted.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("VAULT_LOG_LEVEL", "info").lower()
wsgi_app = "vault_project.wsgi:application"


def on_starting(server) -> None:
    """Refuse to start with a keyring that lacks a key stored cards need (see tokens/rotation.py)."""
    import sys

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vault_project.settings")
    django.setup()
    from django.db import DatabaseError, connections

    from tokens.rotation import keyring_startup_problem

    try:
        problem = keyring_startup_problem()
    except DatabaseError as exc:  # not migrated yet, or unreachable: readiness reports the database
        server.log.warning("could not check the keyring against stored cards: %s", type(exc).__name__)
        return
    finally:
        # The workers are forked from this process: none may inherit its database connection (two
        # processes on one socket would read each other's answers).
        connections.close_all()
    if problem:
        sys.exit(problem)  # the one line on stderr, exit status 1


def post_worker_init(worker) -> None:
    """Each worker tells the others, through the database, which keys it holds (tokens/instances.py)."""
    from tokens.instances import start_heartbeat

    start_heartbeat()
