"""`/metrics`: Prometheus text for a scraper with the bearer token, counted where acts happen, added
up across gunicorn workers; refused without the token, absent when none is configured."""

import json
import os
import subprocess
import sys

import pytest
import requests
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

from api import metrics as metrics_view
from audit.sealing import seal_pending
from merchants.scopes import CUSTOMERS_READ
from tests.helpers.api import VaultClient
from tests.helpers.customers import create_customer
from tests.helpers.gunicorn_server import ROOT, GunicornServer
from tests.helpers.payment_methods import card_number, create_payment_method
from tests.helpers.tenants import issue_key

TOKEN = "metrics-scraper-token-Zx81qLw0p3Vb7Nc5"


def samples(text: str) -> dict[tuple, float]:
    """Every sample of a scrape, by (name, sorted labels)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(scraped: dict, name: str, **labels) -> float:
    return scraped.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(client, token: str = TOKEN):
    # Recount the stored records and the waiting audit rows now, not within 30 s.
    metrics_view._keys._at = metrics_view._audit._at = float("-inf")
    return client.get("/metrics", headers={"Authorization": f"Bearer {token}"})


def test_a_scrape_counts_requests_acts_refusals_and_stored_records(
    api, tenant, client, settings, django_capture_on_commit_callbacks
):
    settings.VAULT_METRICS_TOKEN = TOKEN
    before = samples(scrape(client).content.decode())
    with django_capture_on_commit_callbacks(execute=True):
        customer = create_customer(api)
        create_payment_method(api, customer["id"], card_number(41))
        payment_method = create_payment_method(api, customer["id"], card_number(42))
        # A reveal asked for without the reveal scope: answered masked, audited (and counted) as denied.
        api.get(f"/payment_methods/{payment_method['id']}?fetch_raw_detail=true")
        reader = VaultClient(issue_key(tenant, key_scopes=[CUSTOMERS_READ]), tenant.profile.pk)
        assert reader.post("/customers", {"name": "x"}).status_code == 403
        assert VaultClient("vlt_nobody0000000000_" + "x" * 43, tenant.profile.pk).get("/customers").status_code == 401
    response = scrape(client)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    assert response["Cache-Control"] == "no-store"
    text = response.content.decode()
    after = samples(text)

    def grew(name: str, by: float = 1, **labels) -> bool:
        return value(after, name, **labels) - value(before, name, **labels) >= by

    assert grew("vault_audited_acts_total", 2, action="payment_method.create", outcome="success")
    assert grew("vault_audited_acts_total", action="payment_method.reveal", outcome="denied")
    assert grew("vault_api_refusals_total", reason="unauthenticated")
    assert grew("vault_api_refusals_total", reason="forbidden")
    assert grew("vault_http_requests_total", 2, route="payment_methods", method="POST", status="200")
    assert value(after, "vault_http_request_duration_seconds_count", route="payment_methods") >= 2
    assert value(after, "vault_stored_payment_methods", key_version="merchant_key") == 2
    assert value(after, "vault_keyring_version", version=settings.VAULT_ACTIVE_KEK) == 1
    assert value(after, "vault_key_provider", provider="local") == 1
    # The acts' audit rows wait for the sealer (run_worker): counted, with the oldest one's age.
    assert value(after, "vault_audit_rows_unchained") >= 4
    assert value(after, "vault_audit_oldest_unchained_seconds") > 0
    seal_pending()
    sealed = samples(scrape(client).content.decode())
    assert value(sealed, "vault_audit_rows_unchained") == 0
    assert value(sealed, "vault_audit_oldest_unchained_seconds") == 0
    # Route patterns only: no id, no card, no key in a label.
    assert payment_method["id"] not in text and card_number(42) not in text and tenant.key not in text


def test_the_endpoint_needs_its_token_and_is_absent_without_one(client, settings):
    settings.VAULT_METRICS_TOKEN = ""
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404
    settings.VAULT_METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 401
    assert scrape(client, token="not-the-token").status_code == 401
    assert client.get("/metrics", headers={"Authorization": TOKEN}).status_code == 401  # not a bearer
    assert client.post("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 405


def test_a_weak_token_is_refused_at_start_up():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "vault_project.settings", "VAULT_METRICS_TOKEN": "metrics"}
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode != 0 and "VAULT_METRICS_TOKEN is too short" in done.stderr


@pytest.fixture
def database_url(request, tmp_path):
    if connection.vendor == "postgresql":
        request.getfixturevalue("transactional_db")
        db = connection.settings_dict
        return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    url = f"sqlite:///{tmp_path / 'vault.sqlite3'}"
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": url}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return url


def test_counts_are_added_up_across_gunicorn_workers(database_url):
    made = subprocess.run(
        [sys.executable, "manage.py", "create_merchant", "Metrics", "--json"],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": database_url}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    merchant = json.loads(made.stdout)
    server = GunicornServer(database_url, workers=3, extra_env={"VAULT_METRICS_TOKEN": TOKEN})
    server.start()
    try:
        headers = {"api-key": merchant["api_key"], "X-Profile-Id": merchant["profile_id"]}
        for _ in range(30):  # new connections: the workers share them out
            assert requests.get(f"{server.url}/customers", headers=headers, timeout=10).status_code == 200
        scraped = requests.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        assert scraped.status_code == 200
        found = samples(scraped.text)
        assert value(found, "vault_http_requests_total", route="customers", method="GET", status="200") == 30
        pids = {labels for (name, labels) in found if name == "vault_http_requests_total"}
        assert pids  # aggregated: no per-process label in what a scraper reads
    finally:
        server.stop()
