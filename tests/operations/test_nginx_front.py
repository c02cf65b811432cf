"""The vault behind its TLS front (deploy/nginx/, scripts/nginx_front.py): real nginx and gunicorn on
127.0.0.1, a trustme certificate. A normal create and retrieve pass through; whatever nginx refuses
itself (bad bytes, long URL, big headers or body, a slow body, an unknown Host, the vault down)
answers the vault's JSON envelope with no-store and HSTS; a slow body never holds a worker."""

import json
import os
import shutil
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading
import time

import psycopg
import pytest
import requests
from django.db import connection

from tests.helpers.gunicorn_server import ROOT
from tests.helpers.nginx_front import CLIENT_TIMEOUT, NGINX, TlsFront
from tests.helpers.payment_methods import card_body, card_number

pytestmark = pytest.mark.skipif(
    not os.environ.get("CI") and not os.path.exists(NGINX) and not shutil.which("nginx"),
    reason="nginx is not installed (CI installs it and runs these tests)",
)


@pytest.fixture
def database_url(request, tmp_path):
    if connection.vendor == "postgresql":
        request.getfixturevalue("transactional_db")
        db = connection.settings_dict
        return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    url = f"sqlite:///{tmp_path / 'vault.sqlite3'}"
    manage(url, "migrate", "--noinput")
    return url


def manage(url: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": url}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def query(url: str, sql: str) -> list[tuple]:
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            return db.execute(sql).fetchall()
    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as db:
        return db.execute(sql).fetchall()


@pytest.fixture
def front(database_url, tmp_path):
    front = TlsFront(database_url, tmp_path)
    front.start()
    try:
        yield front, database_url
    finally:
        front.stop()


def assert_envelope(response: requests.Response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    body = response.json()
    assert set(body["error"]) >= {"type", "code", "message"}
    return body


def raw_exchange(front: TlsFront, request: bytes) -> tuple[int, dict, bytes]:
    """Send *request* as it is over TLS; the status, headers and body that come back."""
    with front.tls_socket() as sock:
        sock.sendall(request)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), headers, body


def test_a_card_is_vaulted_and_read_back_through_the_front(front):
    tls, url = front
    merchant = json.loads(manage(url, "create_merchant", "Front", "--json"))
    headers = {"api-key": merchant["api_key"], "X-Profile-Id": merchant["profile_id"], "X-Forwarded-For": "6.6.6.6"}
    session = requests.Session()
    session.verify = str(tls.ca_file)
    session.trust_env = False  # REQUESTS_CA_BUNDLE in the environment would win over session.verify
    customer = session.post(f"{tls.url}/customers", json={"name": "Ada", "email": "a@x.test"}, headers=headers)
    assert customer.status_code == 200, customer.text
    created = session.post(f"{tls.url}/payment_methods", json=card_body(customer.json()["id"], card_number(51)),
                           headers=headers)  # fmt: skip
    assert created.status_code == 200, created.text
    read = session.get(f"{tls.url}/payment_methods/{created.json()['id']}", headers=headers)
    assert read.status_code == 200 and read.json()["id"] == created.json()["id"]
    assert read.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert read.headers["Cache-Control"] == "no-store" and read.headers["Server"] == "nginx"  # no version
    # The vault's own refusals pass through as the vault wrote them.
    refused = session.get(f"{tls.url}/payment_methods/{created.json()['id']}", headers={**headers, "api-key": "x"})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "IR_01"
    # A client's own X-Forwarded-For is replaced by the front: the trail names the real peer.
    origins = {row[0] for row in query(url, "SELECT origin FROM audit_auditevent WHERE action = 'customer.create'")}
    assert origins == {"127.0.0.1"}


def test_what_the_front_refuses_itself_is_the_vaults_json(front):
    tls, _ = front
    get = lambda path, **kw: requests.get(f"{tls.url}{path}", verify=str(tls.ca_file), timeout=10, **kw)  # noqa: E731
    assert_envelope(get("/customers?q=" + "a" * 10_000), 414)
    assert_envelope(get("/customers", headers={"X-Big": "b" * 9_000}), 431)
    too_big = requests.post(f"{tls.url}/customers", data=b"{" + b" " * 20_000 + b"}", verify=str(tls.ca_file),
                            headers={"Content-Type": "application/json"}, timeout=10)  # fmt: skip
    assert_envelope(too_big, 413)
    unknown_host = assert_envelope(get("/customers", headers={"Host": "evil.example"}), 400)
    assert "not served" in unknown_host["error"]["message"]
    status, headers, body = raw_exchange(tls, b"GET /customers/\xff\xfe HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert status == 400 and headers.get("Cache-Control") == "no-store" and json.loads(body)["error"], (headers, body)
    status, headers, body = raw_exchange(tls, b"GARBAGE\r\n\r\n")
    assert status == 400 and json.loads(body)["error"]


def test_plain_http_on_the_tls_port_and_old_tls_are_refused(front):
    tls, _ = front
    with socket.create_connection(("127.0.0.1", tls.port), timeout=10) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 400") and b'"error"' in answer and b"no-store" in answer
    with pytest.raises(ssl.SSLError), tls.tls_socket(maximum=ssl.TLSVersion.TLSv1_1):
        pass
    with tls.tls_socket(maximum=ssl.TLSVersion.TLSv1_2) as sock:
        assert sock.version() == "TLSv1.2"


def test_a_slow_body_is_timed_out_by_the_front_and_never_holds_the_worker(front):
    tls, _ = front
    outcome: dict = {}

    def trickle() -> None:
        with tls.tls_socket() as sock:
            sock.sendall(b"POST /customers HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 100\r\n\r\n{")  # fmt: skip
            started = time.monotonic()
            data = b""
            try:
                while chunk := sock.recv(65536):  # nothing more is sent: wait for the front to give up
                    data += chunk
            except OSError:
                pass
            outcome.update(data=data, seconds=time.monotonic() - started)

    slow = threading.Thread(target=trickle)
    slow.start()
    time.sleep(0.5)
    # Meanwhile the one gunicorn worker answers others at once: the slow body is still with nginx.
    started = time.monotonic()
    assert requests.get(f"{tls.url}/health", verify=str(tls.ca_file), timeout=5).status_code == 200
    assert time.monotonic() - started < 1.5  # not held until nginx gives up on the slow body
    slow.join(timeout=30)
    # nginx gives up after the client timeout and closes the connection: it sends no 408 to a client
    # that stopped sending (its 408 page, configured like the others, is for completeness).
    assert outcome["data"] == b""
    assert CLIENT_TIMEOUT - 0.5 <= outcome["seconds"] < CLIENT_TIMEOUT + 10


def test_the_vault_down_is_a_json_502(front):
    tls, _ = front
    tls.vault.stop()
    body = assert_envelope(requests.get(f"{tls.url}/customers", verify=str(tls.ca_file), timeout=10), 502)
    assert body["error"]["type"] == "api"
