"""Gunicorn settings for production deployments (`make serve`). Every knob comes from the environment.

Request timeouts: a worker that takes longer than VAULT_WORKER_TIMEOUT seconds on one request is
killed and restarted (and its request fails); idle keep-alive connections close after
VAULT_KEEPALIVE seconds. Put a TLS-terminating proxy in front and set VAULT_BEHIND_TLS_PROXY=true.
"""

import multiprocessing
import os
import shutil
import tempfile

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
# Gunicorn's control socket defaults to one path per user (~/.gunicorn/gunicorn.ctl), which two
# instances on one host would share (stopping one removed the other's). None unless an instance
# names its own.
control_socket = os.environ.get("VAULT_CONTROL_SOCKET", "")
control_socket_disable = not control_socket


_OWN_METRICS_DIRECTORY: list[str] = []  # made here, so removed on exit


def _metrics_directory() -> None:
    """prometheus-client's multiprocess mode: each worker writes its counts to files here and a scrape
    adds them up. One fresh directory per instance, unless the operator names one (then emptied)."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        os.makedirs(directory, exist_ok=True)
        for name in os.listdir(directory):
            if name.endswith(".db"):
                os.remove(os.path.join(directory, name))
        return
    directory = tempfile.mkdtemp(prefix="card-vault-metrics-")
    _OWN_METRICS_DIRECTORY.append(directory)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory


_metrics_directory()


def on_exit(server) -> None:
    """The instance stops: the metrics directory it made goes with it."""
    for directory in _OWN_METRICS_DIRECTORY:
        shutil.rmtree(directory, ignore_errors=True)


def child_exit(server, worker) -> None:
    """A worker gone: its live gauges stop counting (its counters stay in the totals)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def _json_logs() -> bool:
    """As the vault's settings decide: JSON unless VAULT_LOG_FORMAT says plain or this is development."""
    chosen = os.environ.get("VAULT_LOG_FORMAT")
    if chosen:
        return chosen == "json"
    return os.environ.get("VAULT_ENV", "production") != "development"


if _json_logs():
    # Gunicorn's own lines (start, worker boot and exit, timeouts) as the vault's JSON, redacted too.
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": "core.logging.RedactingFilter"}},
        "formatters": {"json": {"()": "core.logging.VaultJsonFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["redact"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": "WARNING", "handlers": []},
        "loggers": {
            "gunicorn.error": {"level": loglevel.upper(), "handlers": ["stderr"], "propagate": False},
            "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
        },
    }


def _serves_the_vault() -> bool:
    """False when this config serves another Django project (the bench's bare baseline): the hooks
    below are the vault's own."""
    return os.environ.get("DJANGO_SETTINGS_MODULE", "vault_project.settings") == "vault_project.settings"


def on_starting(server) -> None:
    """Refuse to start with a keyring that lacks a key stored cards need (see tokens/rotation.py)."""
    import sys

    import django

    if not _serves_the_vault():
        return
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


def _freeze_the_loaded_app() -> None:
    """Keep the app's own objects out of every garbage collection.

    A worker holds some 80,000 objects once Django, DRF and the vault's modules are loaded, and a
    full collection walks them all: under load on a two-core host, 100 ms at the median and up to
    350 ms, paid by whichever request was running. Loading every view now (not on the first
    request) and freezing them leaves a full collection only the objects made since: a few
    thousand, a millisecond of work.
    """
    import gc

    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports the URLconf, every view and serializer with it
    gc.collect()
    gc.freeze()


def post_worker_init(worker) -> None:
    """Each worker freezes what it loaded, then tells the others, through the database, which keys it
    holds (tokens/instances.py)."""
    _freeze_the_loaded_app()
    if not _serves_the_vault():
        return
    from tokens.instances import start_heartbeat

    start_heartbeat()
