"""Two vault instances as an operator runs them: two gunicorn servers (two workers each) sharing one
database (a SQLite file of the test's own) and one Redis, on 127.0.0.1. Bounded in requests and time.

- a key revoked by `manage.py revoke_api_key` in a third process is refused by every worker of both
  instances within a second;
- Redis stopped in the middle of a load answers no request with a 5xx.
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

from tests.helpers.gunicorn_server import ROOT, GunicornServer
from tests.helpers.redis_server import RedisProcess

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
def deployment(tmp_path):
    """Two instances, one database, one Redis; a merchant's key and profile."""
    url = f"sqlite:///{tmp_path / 'vault.sqlite3'}"
    _manage(url, "migrate", "--noinput")
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
