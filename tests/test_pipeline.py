"""The request pipeline: body limits (sized and chunked), request ids, no-store, JSON-only answers."""

import io
import json
import sys

import pytest
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.test import override_settings

from tests.conftest import CUSTOMER_BODY, VaultClient, assert_error, stored_counts


def wsgi_call(environ_extra: dict, body: bytes) -> tuple[str, dict[str, str], bytes]:
    """Drive the real WSGI application with a hand-made environ, as a server would."""
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/customers",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        **environ_extra,
    }
    captured: dict = {}

    def start_response(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, dict(headers)

    # As Django's test client does: keep the test's database connection open across the request.
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    try:
        chunks = WSGIHandler()(environ, start_response)
        payload = b"".join(chunks)
        chunks.close()
    finally:
        for signal in (signals.request_started, signals.request_finished):
            signal.connect(close_old_connections)
    return captured["status"], captured["headers"], payload


def auth_environ(tenant) -> dict:
    return {"HTTP_API_KEY": tenant.key, "HTTP_X_PROFILE_ID": tenant.profile.id}


def padded_body(size: int) -> bytes:
    base = {**CUSTOMER_BODY, "metadata": {"pad": ""}}
    overhead = len(json.dumps(base).encode())
    base["metadata"]["pad"] = "p" * max(0, min(size - overhead, 500))
    raw = json.dumps(base).encode()
    return raw + b" " * (size - len(raw))


def test_body_at_the_limit_is_accepted(api, settings):
    response = api.post("/customers", raw=padded_body(settings.VAULT_MAX_BODY_BYTES))
    assert response.status_code == 200


def test_body_over_the_limit_is_413(api, settings):
    before = stored_counts()
    response = api.post("/customers", raw=padded_body(settings.VAULT_MAX_BODY_BYTES + 1))
    body = assert_error(response, 413, "IR_06")
    assert str(settings.VAULT_MAX_BODY_BYTES) in body["error"]["message"]
    assert stored_counts() == before


@override_settings(VAULT_MAX_BODY_BYTES=1024)
def test_the_limit_is_a_setting(api):
    assert_error(api.post("/customers", raw=padded_body(1025)), 413, "IR_06")


def test_chunked_body_over_the_limit_is_413(tenant, settings):
    before = stored_counts()
    status, headers, payload = wsgi_call(
        {"HTTP_TRANSFER_ENCODING": "chunked", **auth_environ(tenant)}, padded_body(settings.VAULT_MAX_BODY_BYTES + 100)
    )
    assert status.startswith("413")
    assert headers["Content-Type"] == "application/json"
    assert json.loads(payload)["error"]["code"] == "IR_06"
    assert stored_counts() == before


def test_chunked_body_within_the_limit_is_read(tenant):
    status, _, payload = wsgi_call(
        {"HTTP_TRANSFER_ENCODING": "chunked", **auth_environ(tenant)}, json.dumps(CUSTOMER_BODY).encode()
    )
    assert status.startswith("200"), payload
    assert json.loads(payload)["name"] == CUSTOMER_BODY["name"]


def test_an_invalid_content_length_is_400(tenant):
    before = stored_counts()
    status, headers, payload = wsgi_call({"CONTENT_LENGTH": "12abc", **auth_environ(tenant)}, b"{}")
    assert status.startswith("400") and json.loads(payload)["error"]["code"] == "IR_06"
    assert headers["Cache-Control"] == "no-store"
    assert stored_counts() == before


@pytest.mark.parametrize("path", ["/customers", "/nowhere", "/openapi.json", "/docs"])
def test_every_response_has_a_request_id_and_no_store(api, path):
    response = api.get(path)
    assert len(response["X-Request-Id"]) >= 8
    assert response["Cache-Control"] == "no-store"


def test_request_ids_differ_per_request(api):
    assert api.get("/customers")["X-Request-Id"] != api.get("/customers")["X-Request-Id"]


@pytest.mark.parametrize("supplied", ["short", "has spaces in it", "x" * 65, "line\\nbreak-inject"])
def test_an_unsafe_client_request_id_is_replaced(api, supplied):
    assert api.get("/customers", headers={"X-Request-Id": supplied})["X-Request-Id"] != supplied


def test_html_is_never_answered_even_when_asked_for(api):
    response = api.get("/nowhere", headers={"Accept": "text/html"})
    assert_error(response, 404, "IR_02")
    response = api.get("/customers", headers={"Accept": "text/html"})
    assert response.status_code == 200 and response["Content-Type"] == "application/json"


def test_bad_host_header_is_json(tenant):
    client = VaultClient(tenant.key, tenant.profile.id)
    response = client.client.get("/customers", headers={"Host": "evil.example"})
    assert_error(response, 400, "IR_06")


def test_unexpected_failures_are_500_json_without_details(api, monkeypatch, caplog):
    from customers import selectors

    def explode(**kwargs):
        card = "4242" * 4
        raise RuntimeError(f"secret detail {card}")

    monkeypatch.setattr(selectors, "customer_list", explode)
    response = api.get("/customers")
    body = assert_error(response, 500, "HE_00")
    assert "secret" not in json.dumps(body)
    assert "4242424242424242" not in caplog.text
    assert "RuntimeError" in caplog.text and response["X-Request-Id"] in caplog.text


def test_database_outage_is_503(api, monkeypatch):
    from django.db import OperationalError

    from customers import selectors

    def unavailable(**kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(selectors, "customer_list", unavailable)
    assert_error(api.get("/customers"), 503, "HE_00")
