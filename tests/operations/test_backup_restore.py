"""Backup and restore, as the README says: `pg_dump -Fc` of the database, the keys kept apart. A
restore into a fresh database reads every card back with the same keys and verifies its audit
trail; started with a keyring that lacks the version the cards need, the vault refuses to start.
PostgreSQL only (the production database)."""

import base64
import os
import shutil
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.db import connection

from tests.helpers.gunicorn_server import ROOT, GunicornServer

CARDS = 40
KEYS = {
    "VAULT_KEYRING": "3:" + base64.b64encode(bytes(range(100, 132))).decode(),
    "VAULT_ACTIVE_KEK": "3",
    "VAULT_FINGERPRINT_KEYS": "1:" + base64.b64encode(bytes(range(132, 164))).decode(),
    "VAULT_AUDIT_KEYS": "1:" + base64.b64encode(bytes(range(164, 196))).decode(),
}
WRONG_KEYRING = {"VAULT_KEYRING": "4:" + base64.b64encode(bytes(range(200, 232))).decode(), "VAULT_ACTIVE_KEK": "4"}
# Every card opened with the keys of the environment, as its id and a digest of its number.
READ_EVERY_CARD = """
import hashlib
from tokens import crypto
from tokens.models import PaymentMethod
for pm in PaymentMethod.unscoped.order_by("id"):
    number = crypto.open_sealed(pm.sealed_card, merchant_id=pm.merchant_id, record_id=pm.id).number
    print("card", pm.id, hashlib.sha256(number.encode()).hexdigest())
"""


@pytest.fixture
def scratch_databases():
    if connection.vendor != "postgresql":
        pytest.skip("backup and restore are of the production database, PostgreSQL")
    db = connection.settings_dict
    admin = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/postgres"
    names = [f"vault_backup_{which}_{os.getpid()}" for which in ("source", "restored")]
    with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{names[0]}"')
        conn.execute(f'CREATE DATABASE "{names[1]}"')
    parts = urlsplit(admin)
    urls = [urlunsplit(parts._replace(path=f"/{name}")) for name in names]
    try:
        yield urls
    finally:
        with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(url: str, *args: str, keys: dict = KEYS) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": url, **keys}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def read_every_card(url: str, keys: dict = KEYS) -> dict[str, str]:
    done = manage(url, "shell", "-c", READ_EVERY_CARD, keys=keys)
    assert done.returncode == 0, done.stderr[-2000:]
    cards = [line.split() for line in done.stdout.splitlines() if line.startswith("card ")]
    return {card_id: digest for _, card_id, digest in cards}


def test_a_dump_restored_into_a_fresh_database_reads_every_card_back(scratch_databases, tmp_path):
    source, restored = scratch_databases
    assert manage(source, "migrate", "--noinput").returncode == 0
    seeded = manage(source, "seed_payment_methods", str(CARDS), "--no-progress", "--force")
    assert seeded.returncode == 0, seeded.stderr[-2000:]
    before = read_every_card(source)
    assert len(before) == CARDS

    dump = tmp_path / "vault.dump"
    pg_dump, pg_restore = shutil.which("pg_dump"), shutil.which("pg_restore")
    assert pg_dump and pg_restore, "PostgreSQL's client tools are needed (CI installs them)"
    subprocess.run([pg_dump, "-Fc", "--no-owner", "-f", str(dump), source], check=True, timeout=120)
    # The keys are not in the database, so not in any dump of it: a stolen backup alone opens nothing.
    plain = subprocess.run([pg_dump, "--no-owner", source], check=True, capture_output=True, timeout=120).stdout
    for name in ("VAULT_KEYRING", "VAULT_FINGERPRINT_KEYS", "VAULT_AUDIT_KEYS"):
        material = base64.b64decode(KEYS[name].split(":", 1)[1])
        assert KEYS[name].split(":", 1)[1].encode() not in plain and material.hex().encode() not in plain
    subprocess.run([pg_restore, "--no-owner", "-d", restored, str(dump)], check=True, timeout=120)

    assert read_every_card(restored) == before
    verified = manage(restored, "verify_audit")
    assert verified.returncode == 0 and "checked" in verified.stdout, verified.stderr[-2000:]
    status = manage(restored, "rotate_keys", "--status")
    assert status.returncode == 0 and "3" in status.stdout

    # Restored with the wrong keyring: the vault refuses to start and the cards stay closed.
    server = GunicornServer(restored, workers=1, extra_env={**KEYS, **WRONG_KEYRING})
    refused = server.run_to_exit()
    assert refused.returncode != 0
    assert "refusing to start: stored cards need KEK version(s) 3" in refused.stderr
    assert manage(restored, "shell", "-c", READ_EVERY_CARD, keys={**KEYS, **WRONG_KEYRING}).returncode != 0
