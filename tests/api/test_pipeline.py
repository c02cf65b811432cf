"""The request pipeline: body limits (sized and chunked), request ids, no-store, JSON-only answers."""

import io
import json
import sys

import pytest
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.test import override_settings

from tests.helpers.api import VaultClient, assert_error
from tests.helpers.customers import CUSTOMER_BODY
from tests.helpers.state import stored_counts


def wsgi_call(environ_extra: dict, body: bytes, app=None) -> tuple[str, dict[str, str], bytes]:
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
        chunks = (app or WSGIHandler())(environ, start_response)
        payload = b"".join(chunks)
        if hasattr(chunks, "close"):
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
def test_the_body_limit_is_a_setting(api):
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
    from core.logging import redact
    from customers import selectors

    def explode(**kwargs):
        card = "4242" * 4
        raise RuntimeError(f"secret detail {card}")

    monkeypatch.setattr(selectors, "customer_list", explode)
    response = api.get("/customers")
    body = assert_error(response, 500, "HE_00")
    assert "secret" not in json.dumps(body)
    assert "4242424242424242" not in caplog.text
    # The log names the request by its id, as the log filter leaves it: a random hex id may hold a
    # Luhn-valid digit run, which the generous filter masks.
    assert "RuntimeError" in caplog.text and redact(response["X-Request-Id"]) in caplog.text


def test_operational_error_maps_to_503(api, monkeypatch):
    """The mapping alone; tests/operations/test_database_outage.py takes the database away for real."""
    from django.db import OperationalError

    from customers import selectors

    def unavailable(**kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(selectors, "customer_list", unavailable)
    assert_error(api.get("/customers"), 503, "HE_00")


def test_lone_surrogates_are_refused_before_they_are_stored(api):
    before = stored_counts()
    for raw in ('{"name": "a", "email": "a@b.co", "metadata": {"k": "\\ud800"}}',
                '{"name": "a", "email": "a@b.co", "metadata": {"\\udfff": 1}}'):  # fmt: skip
        assert_error(api.post("/customers", raw=raw), 400, "IR_06")
    assert stored_counts() == before
    assert api.get("/customers").status_code == 200


@pytest.mark.parametrize("charset", ["hex", "base64", "zlib", "rot13"])
def test_a_non_text_charset_is_415_json(tenant, charset):
    from vault_project.wsgi import application

    environ_extra = {
        "CONTENT_TYPE": f"text/plain; charset={charset}",
        "QUERY_STRING": "limit=1",
        **auth_environ(tenant),
    }
    status, headers, payload = wsgi_call(environ_extra, b"", app=application)
    assert status.startswith("415") and headers["Content-Type"] == "application/json"
    assert json.loads(payload)["error"]["code"] == "IR_06" and headers["Cache-Control"] == "no-store"


def test_too_many_query_fields_is_400(api):
    query = "&".join(f"a{i}=1" for i in range(1100))
    assert_error(api.get(f"/customers?{query}"), 400, "IR_06")


@pytest.mark.parametrize(
    "name",
    ["_4242424242424242", "card4242424242424242", "vlt_abcdefghijklmnop_" + "A" * 43, "x" * 41, "a1234"],
)
def test_unknown_field_names_are_echoed_only_when_harmless(api, name):
    response = api.post("/customers", {**CUSTOMER_BODY, name: 1})
    body = assert_error(response, 400, "IR_06")
    assert name not in response.content.decode()
    assert body["error"]["fields"] == {"(unnamed field)": "unknown_field"}


def test_a_harmless_unknown_field_is_named(api):
    body = assert_error(api.post("/customers", {**CUSTOMER_BODY, "nickname": 1}), 400, "IR_06")
    assert body["error"]["fields"] == {"nickname": "unknown_field"}


@pytest.mark.parametrize("supplied", ["4242424242424242", "req-4242-4242-4242-4242", "vlt_abcdefghijklmnop_xyz"])
def test_a_request_id_that_carries_a_card_number_or_key_is_replaced(api, supplied):
    response = api.post("/customers", CUSTOMER_BODY, headers={"X-Request-Id": supplied})
    assert response["X-Request-Id"] != supplied
    from audit.models import AuditEvent

    assert AuditEvent.objects.get(object_id=response.json()["id"]).request_id == response["X-Request-Id"]


def test_the_allow_header_lists_only_offered_methods(api):
    response = api.delete("/customers")
    assert_error(response, 405, "IR_03")
    assert set(response["Allow"].split(", ")) == {"GET", "POST", "HEAD"}


def test_an_empty_body_with_a_wrong_content_type_is_415(api):
    customer = api.post("/customers", CUSTOMER_BODY).json()
    response = api.put(f"/customers/{customer['id']}", raw="", headers={"Content-Type": "text/plain"})
    assert_error(response, 415, "IR_06")


@pytest.mark.parametrize("path", ["/docs", "/openapi.json"])
def test_docs_routes_answer_json_405_to_other_methods(api, path):
    response = api.post(path, raw="{}")
    assert_error(response, 405, "IR_03")
    assert response.content.decode().startswith('{"error":{')


@pytest.mark.parametrize("path", ["/docs", "/openapi.json", "/health", "/health/ready"])
def test_public_routes_answer_405_even_where_csrf_is_enforced(db, path):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(path, data="{}", content_type="application/json")
    assert_error(response, 405, "IR_03")
