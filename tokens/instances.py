"""Heartbeats of the vault's server processes, so that key rotation can see every instance's keyring.

Each gunicorn worker (see gunicorn.conf.py) writes its row every HEARTBEAT_SECONDS from a daemon
thread: host, pid, start time, and the versions of its KEKs and fingerprint keys with the ones it
encrypts under. An instance is live while its last heartbeat is younger than LIVE_SECONDS.
"""

import logging
import os
import socket
import threading
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.utils import timezone

from tokens import crypto
from tokens.models import VaultInstance

HEARTBEAT_SECONDS = 5
LIVE_SECONDS = 3 * HEARTBEAT_SECONDS
FORGET_AFTER = timedelta(days=1)
logger = logging.getLogger("vault.instances")


def active_root_key() -> str:
    """`provider:version` of the root key that wraps this process's new merchant keys. Read from
    settings, never by asking the provider: a heartbeat must not depend on an HSM or KMS answering."""
    if settings.VAULT_KEY_PROVIDER == "local":
        return f"local:{settings.VAULT_ACTIVE_KEK}"
    if settings.VAULT_KEY_PROVIDER == "pkcs11":
        return f"pkcs11:{settings.VAULT_PKCS11_KEY_LABEL}"
    return f"aws-kms:{settings.VAULT_KMS_KEY_ID}"


def instance_heartbeat(*, instance_id: str, started_at) -> None:
    """Write this process's row: its key versions now (a restart may have changed them)."""
    VaultInstance.objects.update_or_create(
        instance_id=instance_id,
        defaults={
            "host": socket.gethostname()[:255],
            "pid": os.getpid(),
            "started_at": started_at,
            "last_seen": timezone.now(),
            "kek_versions": sorted(settings.VAULT_KEYRING, key=int),
            "active_kek": settings.VAULT_ACTIVE_KEK,
            "fingerprint_versions": sorted(settings.VAULT_FINGERPRINT_KEYS, key=int),
            "newest_fingerprint_key": crypto.current_fingerprint_version(),
            "root_key": active_root_key(),
        },
    )


def live_instances() -> list[VaultInstance]:
    return list(
        VaultInstance.objects.filter(last_seen__gte=timezone.now() - timedelta(seconds=LIVE_SECONDS)).order_by(
            "host", "pid"
        )
    )


def instances_behind() -> list[tuple[VaultInstance, str]]:
    """Live instances whose keyring would undo a rotation to this process's keys, with why."""
    newest_fingerprint = crypto.current_fingerprint_version()
    root_key = active_root_key()
    behind = []
    for instance in live_instances():
        if settings.VAULT_ACTIVE_KEK and settings.VAULT_ACTIVE_KEK not in instance.kek_versions:
            behind.append((instance, f"lacks KEK version {settings.VAULT_ACTIVE_KEK}"))
        elif settings.VAULT_ACTIVE_KEK and instance.active_kek != settings.VAULT_ACTIVE_KEK:
            behind.append((instance, f"still encrypts under KEK version {instance.active_kek}"))
        elif instance.root_key and instance.root_key != root_key:
            behind.append((instance, f"wraps new merchant keys under root key {instance.root_key}"))
        elif instance.newest_fingerprint_key != newest_fingerprint:
            behind.append((instance, f"still fingerprints with key version {instance.newest_fingerprint_key}"))
    return behind


def instances_forget_gone() -> int:
    deleted, _ = VaultInstance.objects.filter(last_seen__lt=timezone.now() - FORGET_AFTER).delete()
    return deleted


def start_heartbeat() -> threading.Thread:
    """Start this process's heartbeat thread (a daemon: it ends with the process)."""
    instance_id, started_at = uuid.uuid4().hex, timezone.now()
    stop = threading.Event()

    def beat() -> None:
        while not stop.is_set():
            try:
                close_old_connections()
                instance_heartbeat(instance_id=instance_id, started_at=started_at)
            except DatabaseError as exc:  # the database is down: readiness says so; try again later
                logger.warning("heartbeat not written (%s)", type(exc).__name__)
            stop.wait(HEARTBEAT_SECONDS)

    thread = threading.Thread(target=beat, name="vault-heartbeat", daemon=True)
    thread.start()
    return thread
