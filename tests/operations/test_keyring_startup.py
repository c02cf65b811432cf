"""An instance whose keyring lacks a key that stored cards need refuses to start, unless told to;
started anyway, it says which versions are missing and answers those cards 503, never 500.

The real production server (gunicorn with gunicorn.conf.py) on a SQLite file of the test's own, on
127.0.0.1; bounded in time.
"""

import base64
import importlib.util
import logging
import os
import sqlite3
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
import requests

from tests.helpers.gunicorn_server import ROOT, GunicornServer

KEK_7 = base64.b64encode(bytes(range(32))).decode()
KEK_8 = base64.b64encode(bytes(range(32, 64))).decode()
FINGERPRINT_KEY = base64.b64encode(bytes(range(64, 96))).decode()


@pytest.fixture
def database_with_cards_under_kek_7(tmp_path):
    url = f"sqlite:///{tmp_path / 'vault.sqlite3'}"
    env = {**os.environ, "DATABASE_URL": url, "VAULT_KEYRING": f"7:{KEK_7}", "VAULT_ACTIVE_KEK": "7",
           "VAULT_FINGERPRINT_KEYS": f"1:{FINGERPRINT_KEY}"}  # fmt: skip
    for command in (["migrate", "--noinput"], ["seed_payment_methods", "3", "--no-progress", "--force"]):
        done = subprocess.run(
            [sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr[-2000:]
    return url


def _server(url: str, **extra: str) -> GunicornServer:
    return GunicornServer(
        url,
        workers=1,
        extra_env={
            "VAULT_KEYRING": f"8:{KEK_8}",
            "VAULT_ACTIVE_KEK": "8",
            "VAULT_FINGERPRINT_KEYS": f"1:{FINGERPRINT_KEY}",
            **extra,
        },
    )


def test_an_instance_missing_a_kek_in_use_refuses_to_start_with_one_line(database_with_cards_under_kek_7):
    server = _server(database_with_cards_under_kek_7)
    started = server.run_to_exit()
    assert started.returncode != 0
    lines = [line for line in started.stderr.splitlines() if "refusing to start" in line]
    assert lines == [
        "refusing to start: stored cards need KEK version(s) 7 (VAULT_KEYRING), missing from this instance; "
        "restore the key(s), or set VAULT_ALLOW_MISSING_KEKS=true to start anyway"
    ]
    assert KEK_8 not in started.stderr and KEK_7 not in started.stderr


def test_started_anyway_it_is_not_ready_and_names_the_missing_version(database_with_cards_under_kek_7):
    server = _server(database_with_cards_under_kek_7, VAULT_ALLOW_MISSING_KEKS="true")
    try:
        ready = server.start(ready_statuses=(503,))
        assert ready.status_code == 503
        assert ready.json()["missing_kek_versions"] == ["7"]
        assert ready.json()["checks"]["keys_in_use"] is False
        assert requests.get(f"{server.url}/health", timeout=2).status_code == 200
    finally:
        server.stop()


def _manage(url: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url, "VAULT_FINGERPRINT_KEYS": f"1:{FINGERPRINT_KEY}", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_rotation_is_refused_while_a_running_instance_is_on_the_old_keyring(
    database_with_cards_under_kek_7, tmp_path
):
    url = database_with_cards_under_kek_7
    old = GunicornServer(
        url,
        workers=2,
        extra_env={
            "VAULT_KEYRING": f"7:{KEK_7}",
            "VAULT_ACTIVE_KEK": "7",
            "VAULT_FINGERPRINT_KEYS": f"1:{FINGERPRINT_KEY}",
        },
    )
    old.start()
    try:
        rows = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(rows) < 2:
            with sqlite3.connect(tmp_path / "vault.sqlite3") as db:
                rows = db.execute("SELECT active_kek, kek_versions FROM tokens_vaultinstance").fetchall()
            time.sleep(0.2)
        assert len(rows) == 2 and {row[0] for row in rows} == {"7"}  # one heartbeat per worker
        new_keyring = {"VAULT_KEYRING": f"7:{KEK_7},8:{KEK_8}", "VAULT_ACTIVE_KEK": "8"}
        status = _manage(url, "rotate_keys", "--status", **new_keyring)
        assert "(encrypts under 7)" in status.stdout and "not retirable" in status.stdout
        refused = _manage(url, "rotate_keys", "--no-progress", **new_keyring)
        assert refused.returncode == 1
        assert "refusing to rotate: 2 live instance(s) are on an older keyring" in refused.stderr
        assert KEK_7 not in refused.stderr + refused.stdout
    finally:
        old.stop()


def test_an_instance_missing_a_fingerprint_key_in_use_refuses_to_start_too(database_with_cards_under_kek_7):
    server = _server(database_with_cards_under_kek_7, VAULT_KEYRING=f"7:{KEK_7}", VAULT_ACTIVE_KEK="7")
    server.env["VAULT_FINGERPRINT_KEYS"] = "2:" + base64.b64encode(bytes(range(96, 128))).decode()
    started = server.run_to_exit()
    assert started.returncode != 0
    assert (
        "refusing to start: stored cards need fingerprint key version(s) 1 (VAULT_FINGERPRINT_KEYS)" in started.stderr
    )


@pytest.mark.django_db(transaction=True)
def test_the_start_up_check_leaves_no_database_connection_for_the_workers_to_inherit():
    # gunicorn forks its workers from the process that ran the check: a connection left open there
    # would be one socket shared by every worker, each reading the others' answers.
    from django.db import connection

    spec = importlib.util.spec_from_file_location("gunicorn_conf", ROOT / "gunicorn.conf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    connection.ensure_connection()
    module.on_starting(SimpleNamespace(log=logging.getLogger("gunicorn.error")))
    assert connection.connection is None
