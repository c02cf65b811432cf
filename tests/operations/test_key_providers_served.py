"""The production server (gunicorn, forked workers) with the root key in an HSM or in KMS, no keyring at
all: cards vault and reveal on every worker, each worker opening its own HSM session or KMS client
after the fork; and with KMS stopped, merchants whose key a worker holds are still served while
the others get 503 and readiness fails.

A SQLite file of the test's own, SoftHSM2 and moto's server as real processes, all on 127.0.0.1.
"""

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.helpers.gunicorn_server import ROOT, GunicornServer
from tests.helpers.key_providers import FAKE_AWS_CREDENTIALS, MotoServer
from tests.helpers.payment_methods import card_body, card_number

pytestmark = pytest.mark.slow


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def provider_env(name: str, request) -> dict[str, str]:
    if name == "pkcs11":
        return {"VAULT_KEY_PROVIDER": "pkcs11", **request.getfixturevalue("softhsm").settings()}
    server = request.getfixturevalue("own_kms_server")
    settings = server.settings(server.create_key("alias/vault-served"))
    return {"VAULT_KEY_PROVIDER": "aws-kms", **{k: str(v) for k, v in settings.items()}, **FAKE_AWS_CREDENTIALS}


@pytest.fixture
def own_kms_server():
    saved = {name: os.environ.get(name) for name in FAKE_AWS_CREDENTIALS}
    os.environ.update(FAKE_AWS_CREDENTIALS)
    server = MotoServer()
    yield server
    server.stop()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


class Merchant:
    def __init__(self, base: str, created: dict) -> None:
        self.base = base
        self.headers = {"api-key": created["api_key"], "X-Profile-Id": created["profile_id"]}

    def post(self, path: str, body: dict) -> requests.Response:
        return requests.post(f"{self.base}{path}", json=body, headers=self.headers, timeout=10)

    def get(self, path: str) -> requests.Response:
        return requests.get(f"{self.base}{path}", headers=self.headers, timeout=10)

    def vault(self, number: str) -> str:
        customer = self.post("/customers", {"name": "Ada", "email": "ada@example.com"})
        assert customer.status_code == 200, customer.text
        created = self.post("/payment_methods", card_body(customer.json()["id"], number))
        assert created.status_code == 200, created.text
        return created.json()["id"]

    def reveal(self, payment_method_id: str) -> requests.Response:
        return self.get(f"/payment_methods/{payment_method_id}?fetch_raw_detail=true")


@pytest.mark.parametrize("name", ["pkcs11", "aws-kms"])
def test_forked_workers_use_the_hsm_or_kms_and_a_kms_outage_is_bridged_by_the_cache(name, request, tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'vault.sqlite3'}",
        "VAULT_KEYRING": "",
        "VAULT_ACTIVE_KEK": "",
        **provider_env(name, request),
    }
    manage(env, "migrate", "--noinput")
    scopes = ["customers:read", "customers:write", "payment_methods:read", "payment_methods:write"]
    scopes.append("payment_methods:reveal")
    merchants = [
        json.loads(
            manage(env, "create_merchant", label, "--scopes", *scopes, "--single-control", "--json").splitlines()[-1]
        )
        for label in ("Served", "Other")
    ]
    server = GunicornServer(env["DATABASE_URL"], workers=2, extra_env=env)
    assert server.start().json()["checks"]["key_provider"] is True
    try:
        served = Merchant(server.url, merchants[0])
        cards = {served.vault(card_number(index)): card_number(index) for index in range(4)}
        # Concurrent reveals, so that both workers open the merchant key, each from the provider.
        with ThreadPoolExecutor(max_workers=4) as pool:
            for _ in range(3):
                for number, response in zip(cards.values(), pool.map(served.reveal, cards), strict=True):
                    assert response.status_code == 200, response.text
                    assert response.json()["raw_payment_method_data"]["card"]["card_number"] == number
    finally:
        server.stop()
    if name == "aws-kms":
        assert_kms_outage_is_bridged_by_the_cache(env, request, merchants=merchants, cards=cards)


def assert_kms_outage_is_bridged_by_the_cache(env: dict, request, *, merchants: list[dict], cards: dict) -> None:
    # One worker, so that the worker which opened the merchant key is the one asked after the outage.
    server = GunicornServer(
        env["DATABASE_URL"], workers=1, extra_env={**env, "VAULT_MERCHANT_KEY_CACHE_SECONDS": "600"}
    )
    server.start()
    try:
        served, other = (Merchant(server.url, created) for created in merchants)
        first = next(iter(cards))
        assert served.reveal(first).status_code == 200  # the worker now holds the merchant key
        request.getfixturevalue("own_kms_server").stop()
        # The worker that holds the merchant's key keeps serving it; another merchant has none: 503.
        for payment_method_id, number in cards.items():
            response = served.reveal(payment_method_id)
            assert response.status_code == 200, response.text
            assert response.json()["raw_payment_method_data"]["card"]["card_number"] == number
        refused = other.post("/customers", {"name": "Bo", "email": "bo@example.com"})
        assert refused.status_code == 200  # no key needed to store a customer
        card = other.post("/payment_methods", card_body(refused.json()["id"], card_number(9)))
        assert card.status_code == 503 and card.json()["error"]["code"] == "HE_00"
        assert card_number(9) not in card.text
        # Readiness probes the provider at most every 5 seconds per worker.
        deadline = time.monotonic() + 15
        while (ready := requests.get(f"{server.url}/health/ready", timeout=10)).status_code != 503:
            assert time.monotonic() < deadline, "readiness never noticed that KMS is down"
            time.sleep(0.5)
        assert ready.json()["checks"]["key_provider"] is False
    finally:
        server.stop()
