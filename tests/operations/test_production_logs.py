"""The vault's output in production, captured from a real gunicorn: every line is JSON, none holds a
card number or an API key (percent-encoded ones included), a line written during a request carries
its request id (the token-service client's too), a made-up Host is one warning a minute without a
traceback, and successful health probes are not logged. PostgreSQL only: production refuses SQLite."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.db import connection

from merchants.models import Profile
from tests.helpers.gunicorn_server import ROOT, free_port
from tests.helpers.payment_methods import card_body, card_number
from tests.helpers.tenants import make_tenant

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def postgres_url():
    if connection.vendor != "postgresql":
        pytest.skip("production mode needs PostgreSQL (the suite runs on it with DATABASE_URL=postgres://…)")
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def closed_port() -> int:
    """A loopback port nothing listens on: the token service is down."""
    return free_port()


@pytest.fixture
def production_server(postgres_url, tmp_path):
    port = free_port()
    log_path = tmp_path / "vault.log"
    env = {
        **os.environ,  # the checkout's secrets, copied in from .env by the test settings
        "VAULT_ENV": "production",
        "VAULT_ENV_FILE": "",
        "VAULT_LOG_FORMAT": "",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "VAULT_BEHIND_TLS_PROXY": "true",
        "DATABASE_URL": postgres_url,
        "VAULT_BIND": f"127.0.0.1:{port}",
        "VAULT_WORKERS": "2",
        "VAULT_ACCESS_LOG_LEVEL": "INFO",
        "VAULT_RATE_LIMIT_PER_MINUTE": "0",
        "VAULT_NT_URL": f"http://127.0.0.1:{closed_port()}",
        "VAULT_NT_API_KEY": "test-token-service-key-0123456789abcdef",
        "VAULT_NT_TIMEOUT": "0.5",
        "VAULT_NT_RETRIES": "0",
    }
    env.pop("VAULT_LOG_FORMAT")
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert process.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        yield url, process, log_path
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def raw_request(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        return sock.recv(4096)


def test_production_output_is_json_redacted_and_tagged_with_request_ids(production_server):
    url, process, log_path = production_server
    tenant = make_tenant("Logs")
    Profile.objects.filter(pk=tenant.profile.pk).update(network_tokenization_enabled=True)
    headers = {"api-key": tenant.key, "X-Profile-Id": tenant.profile.pk}
    number = card_number(31)

    customer = requests.post(f"{url}/customers", json={"name": "Ada", "email": "a@x.test"}, headers=headers, timeout=10)
    assert customer.status_code == 200, customer.text
    body = {**card_body(customer.json()["id"], number), "network_tokenization": {"enable": "Enable"}}
    created = requests.post(f"{url}/payment_methods", json=body, headers=headers, timeout=10)
    assert created.status_code == 200, created.text  # vaulted without a token: the token service is down
    create_request_id = created.headers["X-Request-Id"]
    # What a careless client puts where it does not belong: a card number in the query string, an API
    # key percent-encoded in the path.
    requests.get(f"{url}/customers?card={number}", headers=headers, timeout=10)
    encoded_key = tenant.key.replace("_", "%5F")
    requests.get(f"{url}/customers/{encoded_key}", headers=headers, timeout=10)
    # Made-up hosts: refused with JSON; one warning a minute per host, no traceback.
    for _ in range(5):
        refused = requests.get(f"{url}/customers", headers={**headers, "Host": "evil.example"}, timeout=10)
        assert refused.status_code == 400 and refused.json()["error"]
    # Probes by the instance's address, whatever the Host: answered, and not logged while they succeed.
    for _ in range(5):
        probe = requests.get(f"{url}/health", headers={"Host": "10.1.2.3:8000"}, timeout=10)
        assert probe.status_code == 200
    port = int(url.rsplit(":", 1)[1])
    raw_request(port, b"GET /\xff\xfe HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")

    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=20)
    lines = Path(log_path).read_text(errors="replace").splitlines()
    assert len(lines) > 10
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            pytest.fail(f"a line that is not JSON: {line[:300]}")
    text = "\n".join(lines)
    assert number not in text and number[-8:] + number[:4] not in text
    assert tenant.key not in text and encoded_key not in text and tenant.key.split("_", 2)[2] not in text
    assert "card=" not in text  # no query string anywhere
    assert "Traceback" not in text

    token_lines = [r for r in records if "network token not provisioned" in r.get("message", "")]
    assert token_lines and token_lines[0].get("request_id") == create_request_id
    host_lines = [r for r in records if "does not serve" in r.get("message", "")]
    # Once a minute per host and process: at most one line per worker (two here).
    assert 1 <= len(host_lines) <= 2, host_lines
    assert all(line["level"] == "WARNING" and "'evil.example'" in line["message"] for line in host_lines), host_lines
    assert not [r for r in records if r.get("route") in ("health", "health/ready")]
    assert any(r.get("logger", "").startswith("gunicorn") for r in records)  # gunicorn's own lines, as JSON
