"""Two vault instances as an operator runs them: two gunicorn servers (two workers each) sharing one
database (PostgreSQL when the suite runs on it, else a SQLite file of the test's own) and one Redis,
on 127.0.0.1. Bounded in requests and time.

- a key revoked by `manage.py revoke_api_key` in a third process is refused by every worker of both
  instances within a second;
- Redis stopped in the middle of a load answers no request with a 5xx;
- a token service answering after five seconds holds no request longer than one VAULT_NT_TIMEOUT,
  and `/health` answers at once meanwhile.
"""

import base64
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection

from tests.helpers.customers import CUSTOMER_BODY
from tests.helpers.gunicorn_server import ROOT, GunicornServer
from tests.helpers.payment_methods import card_body, card_number
from tests.helpers.redis_server import RedisProcess
from tests.helpers.token_service import SIM_API_KEY, SimulatorProcess

KEYS = {
    "VAULT_KEYRING": "1:" + base64.b64encode(bytes(range(32))).decode(),
    "VAULT_ACTIVE_KEK": "1",
    "VAULT_FINGERPRINT_KEYS": "1:" + base64.b64encode(bytes(range(32, 64))).decode(),
}
REQUESTS_PER_ROUND = 24  # enough to reach every worker of both instances


def _manage(url: str, *args: str, **env: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url, **KEYS, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture
def database_url(request, tmp_path):
    """The database the instances share: PostgreSQL when the suite runs on it (the test database,
    committed to for real), else a SQLite file of this test's own."""
    if connection.vendor == "postgresql":
        request.getfixturevalue("transactional_db")
        db = connection.settings_dict
        return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    url = f"sqlite:///{tmp_path / 'vault.sqlite3'}"
    _manage(url, "migrate", "--noinput")
    return url


@pytest.fixture
def deployment(database_url):
    """Two instances, one database, one Redis; a merchant's key and profile."""
    url = database_url
    merchant = json.loads(_manage(url, "create_merchant", "Two instances", "--json"))
    redis = RedisProcess()
    env = {**KEYS, "REDIS_URL": redis.url, "VAULT_API_KEY_CACHE_SECONDS": "60"}
    servers = [GunicornServer(url, workers=2, extra_env=env) for _ in range(2)]
    try:
        for server in servers:
            server.start()
        yield url, merchant, servers, redis
    finally:
        for server in servers:
            server.stop()
        redis.stop()


def _round(servers, merchant, path: str = "/customers") -> list[int]:
    headers = {"api-key": merchant["api_key"], "X-Profile-Id": merchant["profile_id"]}
    urls = [server.url + path for server in servers] * (REQUESTS_PER_ROUND // len(servers))
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda url: requests.get(url, headers=headers, timeout=10).status_code, urls))


def test_a_revocation_reaches_every_worker_of_both_instances_within_a_second(deployment):
    url, merchant, servers, redis = deployment
    assert set(_round(servers, merchant)) == {200}  # every worker now remembers the key for a minute
    # The operator's shell has the deployment's environment, REDIS_URL included.
    revoked = json.loads(_manage(url, "revoke_api_key", merchant["api_key"], "--json", REDIS_URL=redis.url))
    assert revoked["revoked_at"]
    time.sleep(1.0)
    assert set(_round(servers, merchant)) == {401}


def test_redis_stopped_in_the_middle_of_a_load_answers_no_5xx(deployment):
    _, merchant, servers, redis = deployment
    statuses = _round(servers, merchant)
    redis.stop()
    for _ in range(3):
        statuses += _round(servers, merchant)
    assert statuses and all(status < 500 for status in statuses), sorted(set(statuses))
    # The default policy serves uncounted; readiness says Redis is down but stays ready.
    ready = requests.get(f"{servers[0].url}/health/ready", timeout=5)
    assert ready.status_code == 200 and ready.json()["checks"]["rate_limit_store"] is False


@pytest.fixture
def slow_token_service(database_url, tmp_path):
    """One instance of three sync workers, a merchant with network tokens, a card holding one, and
    then a token service that answers after five seconds."""
    simulator = SimulatorProcess(tmp_path / "tokens.sqlite3")
    merchant = json.loads(_manage(database_url, "create_merchant", "Slow", "--network-tokenization", "--json"))
    env = {**KEYS, "VAULT_NT_URL": simulator.url, "VAULT_NT_API_KEY": SIM_API_KEY, "VAULT_NT_TIMEOUT": "1"}
    server = GunicornServer(database_url, workers=3, extra_env=env)
    try:
        server.start()
        headers = {"api-key": merchant["api_key"], "X-Profile-Id": merchant["profile_id"]}
        customer = requests.post(f"{server.url}/customers", json=CUSTOMER_BODY, headers=headers, timeout=10).json()
        body = {**card_body(customer["id"]), "network_tokenization": {"enable": "Enable"}}
        card = requests.post(f"{server.url}/payment_methods", json=body, headers=headers, timeout=10).json()
        assert card["network_token"] is not None
        simulator.configure(latency_ms=5000)
        yield server, headers, customer, card
    finally:
        server.stop()
        simulator.stop()


def test_a_token_service_at_five_seconds_keeps_every_request_within_its_budget(slow_token_service):
    server, headers, customer, card = slow_token_service
    body = {**card_body(customer["id"], card_number(8)), "network_tokenization": {"enable": "Enable"}}

    def timed(method: str, path: str, **kwargs) -> tuple[int, float]:
        started = time.monotonic()
        response = requests.request(method, server.url + path, headers=headers, timeout=20, **kwargs)
        return response.status_code, time.monotonic() - started

    with ThreadPoolExecutor(max_workers=3) as pool:
        status_check = pool.submit(timed, "GET", f"/payment_methods/{card['id']}/check_network_token_status")
        create = pool.submit(timed, "POST", "/payment_methods", json=body)
        time.sleep(0.2)  # both are now waiting on the token service
        health = timed("GET", "/health")
        answers = [status_check.result(), create.result()]
    assert health[0] == 200 and health[1] < 0.5, health
    for status, elapsed in answers:
        # One attempt of VAULT_NT_TIMEOUT (1 s), then the vault answers: a failure response, or the
        # card vaulted without a token.
        assert status == 200 and elapsed < 2.5, (status, elapsed)
