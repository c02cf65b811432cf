"""The proxy end to end: the vault on Django's test client, the processor simulator over real TLS."""

import json

import pytest

from audit.actions import AuditAction
from audit.models import AuditEvent
from merchants import scopes
from proxy.models import ProxyDestination
from proxy.services import destination_revoke
from tests.helpers.api import VaultClient, assert_error
from tests.helpers.payment_methods import VISA, card_body, create_payment_method
from tests.helpers.tenants import TEST_ACTOR, issue_key
from tests.proxy.conftest import PROXY_SCOPES
from tests.proxy.helpers import proxy_body, received_form, received_headers, received_json

MASTERCARD = "5555555555554444"
CARD_PLACEHOLDERS = {
    "number": "{{$card_number}}",
    "expiry_month": "{{$card_exp_month}}",
    "expiry_year": "{{$card_exp_year}}",
    "name": "{{$card_holder_name}}",
}


def vault_card(client, customer, number=VISA, **fields):
    return create_payment_method(client, customer["id"], number, card_holder_name="Ada Lovelace", **fields)


def proxy_events():
    return list(AuditEvent.objects.filter(action=AuditAction.PAYMENT_METHOD_PROXY).order_by("id"))


@pytest.mark.parametrize("route", ["/proxy", "/v1/proxy", "/v2/proxy"])
def test_card_placeholders_arrive_at_the_processor(shop, processor, route, caplog):
    _, client, customer, _ = shop
    pm = vault_card(client, customer)
    body = {"amount": 6540, "source": {**CARD_PLACEHOLDERS, "type": "card"}, "reference": "ORD-1"}
    response = client.post(route, proxy_body(processor, pm["id"], body))
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["status_code"] == 200 and answer["response"] == {"status": "authorized"}
    assert answer["response_headers"]["content-type"] == "application/json"
    sent = received_json(processor)
    assert sent == {
        "amount": 6540,
        "source": {"number": VISA, "expiry_month": "12", "expiry_year": "2035", "name": "Ada Lovelace", "type": "card"},
        "reference": "ORD-1",
    }
    assert processor.received()[0]["path"] == "/v1/payments"
    assert VISA not in caplog.text  # the call is logged (access log, urllib3) without the card


def test_placeholders_in_header_values_and_inside_strings(shop, processor):
    _, client, customer, _ = shop
    pm = vault_card(client, customer)
    headers = {"Content-Type": "application/json", "X-Card-Hint": "ends {{$card_exp_month}}/{{$card_exp_year}}"}
    body = {"memo": "card {{$card_number}} for {{$card_holder_name}}", "list": ["{{$card_exp_year}}", 1, None]}
    assert client.post("/proxy", proxy_body(processor, pm["id"], body, headers=headers)).status_code == 200
    assert received_headers(processor)["x-card-hint"] == "ends 12/2035"
    assert received_json(processor) == {"memo": f"card {VISA} for Ada Lovelace", "list": ["2035", 1, None]}


def test_form_encoded_bodies(shop, processor):
    _, client, customer, _ = shop
    pm = vault_card(client, customer)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    as_object = {"card[number]": "{{$card_number}}", "card[name]": "{{$card_holder_name}}", "capture": True}
    assert client.post("/proxy", proxy_body(processor, pm["id"], as_object, headers=form)).status_code == 200
    assert received_form(processor) == {"card[number]": VISA, "card[name]": "Ada Lovelace", "capture": "true"}
    processor.forget()
    as_string = "amount=10&number={{$card_number}}&name={{$card_holder_name}}"
    assert client.post("/proxy", proxy_body(processor, pm["id"], as_string, headers=form)).status_code == 200
    (request,) = processor.received()
    assert request["body"] == f"amount=10&number={VISA}&name=Ada%20Lovelace"


def test_a_get_without_body_and_the_caller_headers_that_are_not_forwarded(shop, processor):
    _, client, customer, _ = shop
    pm = vault_card(client, customer)
    headers = {"Host": "evil.example", "Connection": "close, X-Secret", "Authorization": "Bearer sk_test_1"}
    response = client.post(
        "/proxy", proxy_body(processor, pm["id"], None, headers=headers, method="GET", path="/v1/x?a=1")
    )
    assert response.status_code == 200, response.content
    (request,) = processor.received()
    assert request["method"] == "GET" and request["path"] == "/v1/x?a=1" and request["body"] == ""
    sent = received_headers(processor)
    assert sent["host"] == f"127.0.0.1:{processor.port}"
    assert sent["authorization"] == "Bearer sk_test_1"
    assert sent.get("connection", "") != "close, X-Secret"


def test_card_numbers_in_the_answer_are_masked(shop, processor):
    _, client, customer, _ = shop
    pm = vault_card(client, customer)
    processor.answer(echo=True, headers={"X-Card": MASTERCARD})
    body = {"number": "{{$card_number}}", "grouped": "5555 5555 5555 4444", "order": "ORD-42"}
    response = client.post("/proxy", proxy_body(processor, pm["id"], body))
    text = response.content.decode()
    assert VISA not in text and MASTERCARD not in text and "5555 5555 5555 4444" not in text
    answer = response.json()
    assert answer["response"]["number"] == "************4242"
    assert answer["response"]["grouped"] == "************4444"
    assert answer["response"]["order"] == "ORD-42"
    assert answer["response_headers"]["x-card"] == "************4444"


def test_connections_are_kept_alive_between_calls_but_never_after_a_cut_answer(shop, processor, settings):
    _, client, customer, _ = shop
    pm = vault_card(client, customer)
    body = proxy_body(processor, pm["id"], {"n": "{{$card_number}}"})
    for _ in range(3):
        assert client.post("/proxy", body).status_code == 200
    ports = {request["peer_port"] for request in processor.received()}
    assert len(ports) == 1
    settings.VAULT_PROXY_MAX_RESPONSE_BYTES = 10
    assert client.post("/proxy", body).status_code == 502  # the answer was cut: its connection is dropped
    settings.VAULT_PROXY_MAX_RESPONSE_BYTES = 1024 * 1024
    assert client.post("/proxy", body).status_code == 200
    assert processor.received()[-1]["peer_port"] not in ports


def test_the_destination_status_and_a_text_answer_come_back(shop, processor):
    _, client, customer, _ = shop
    pm = vault_card(client, customer)
    processor.answer(status=402, body="card declined")
    answer = client.post("/proxy", proxy_body(processor, pm["id"], {"n": "{{$card_number}}"})).json()
    assert answer["status_code"] == 402 and answer["response"] == "card declined"


def test_a_redirect_is_answered_not_followed(shop, processor):
    _, client, customer, _ = shop
    pm = vault_card(client, customer)
    processor.answer(status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}, body="")
    answer = client.post("/proxy", proxy_body(processor, pm["id"], {"n": "{{$card_number}}"})).json()
    assert answer["status_code"] == 302
    assert answer["response_headers"]["location"] == "http://169.254.169.254/latest/meta-data/"
    assert len(processor.received()) == 1


@pytest.mark.parametrize(
    ("body", "headers", "named"),
    [
        ({"n": "{{$card_cvv}}"}, None, "{{$card_cvv}}"),
        ({"n": "{{$customer.email}}"}, None, "{{$customer.email}}"),
        ({"n": "x"}, {"X-A": "{{$password}}"}, "{{$password}}"),
    ],
)
def test_an_unknown_placeholder_is_refused_by_name(shop, processor, body, headers, named):
    _, client, customer, _ = shop
    pm = vault_card(client, customer)
    response = client.post("/proxy", proxy_body(processor, pm["id"], body, headers=headers))
    error = assert_error(response, 400, "IR_06")
    assert named in error["error"]["message"]
    assert processor.received() == []


def test_a_placeholder_without_a_value_for_this_card_is_refused(shop, processor):
    _, client, customer, _ = shop
    body = card_body(customer["id"])
    del body["payment_method_data"]["card"]["card_holder_name"]
    pm = client.post("/payment_methods", body).json()
    response = client.post("/proxy", proxy_body(processor, pm["id"], {"name": "{{$card_holder_name}}"}))
    assert "{{$card_holder_name}}" in assert_error(response, 400, "IR_06")["error"]["message"]
    response = client.post("/proxy", proxy_body(processor, pm["id"], {"t": "{{$network_token}}"}))
    assert_error(response, 404, "IR_37")  # no network token for this card
    assert processor.received() == []


def test_a_malformed_placeholder_is_refused(shop, processor):
    _, client, customer, _ = shop
    pm = vault_card(client, customer)
    response = client.post("/proxy", proxy_body(processor, pm["id"], {"n": "{{ $card_number }}"}))
    assert_error(response, 400, "IR_06")
    assert processor.received() == []


def test_each_call_is_audited_without_bodies(shop, processor):
    tenant, client, customer, _ = shop
    pm = vault_card(client, customer)
    processor.answer(status=201)
    client.post("/proxy", proxy_body(processor, pm["id"], {"n": "{{$card_number}}", "note": "secret-note"}))
    (event,) = proxy_events()
    assert event.outcome == AuditEvent.Outcome.SUCCESS
    assert event.object_id == pm["id"] and event.merchant_id == tenant.merchant.id
    assert event.actor_kind == "api_key"
    assert event.details["destination"] == f"https://127.0.0.1:{processor.port}"
    assert event.details["method"] == "POST" and event.details["status"] == 201
    assert event.details["latency_ms"] >= 0 and event.details["token_type"] == "payment_method_id"
    stored = json.dumps(event.details)
    assert VISA not in stored and "secret-note" not in stored and "/v1/payments" not in stored


def test_volatile_payment_methods_use_their_own_token_type(shop, processor):
    _, client, customer, _ = shop
    volatile = client.post("/payment_methods", card_body(customer["id"], storage_type="volatile")).json()
    persistent = vault_card(client, customer, MASTERCARD)
    body = {"n": "{{$card_number}}"}
    ok = client.post("/proxy", proxy_body(processor, volatile["id"], body, token_type="VolatilePaymentMethodId"))
    assert ok.status_code == 200 and received_json(processor) == {"n": VISA}
    assert_error(client.post("/proxy", proxy_body(processor, volatile["id"], body)), 422, "IR_29")
    wrong = proxy_body(processor, persistent["id"], body, token_type="volatile_payment_method_id")
    assert_error(client.post("/proxy", wrong), 422, "IR_29")


def test_the_snake_case_token_type_of_upstream_schema_is_accepted(shop, processor):
    _, client, customer, _ = shop
    pm = vault_card(client, customer)
    response = client.post(
        "/proxy", proxy_body(processor, pm["id"], {"n": "{{$card_number}}"}, token_type="payment_method_id")
    )
    assert response.status_code == 200


# --- Refusals -----------------------------------------------------------------------------------


def test_a_key_without_the_proxy_scope_is_refused(shop, processor):
    tenant, client, customer, _ = shop
    pm = vault_card(client, customer)
    for key_scopes in (scopes.DEFAULT_SCOPES, [*scopes.DEFAULT_SCOPES, scopes.PAYMENT_METHODS_REVEAL]):
        other = VaultClient(issue_key(tenant, key_scopes=list(key_scopes)), tenant.profile.id)
        assert_error(other.post("/proxy", proxy_body(processor, pm["id"], {"n": "{{$card_number}}"})), 403, "IR_22")
    assert processor.received() == []


def test_bad_keys_are_refused(shop, processor):
    tenant, client, customer, _ = shop
    pm = vault_card(client, customer)
    body = proxy_body(processor, pm["id"], {"n": "{{$card_number}}"})
    assert_error(VaultClient(None, tenant.profile.id).post("/proxy", body), 401, "IR_01")
    assert_error(VaultClient("vlt_nope_nope", tenant.profile.id).post("/proxy", body), 401, "IR_01")
    assert processor.received() == []


def test_a_destination_not_on_the_allowlist_is_refused_and_audited(shop, processor):
    _, client, customer, destination = shop
    pm = vault_card(client, customer)
    elsewhere = proxy_body(processor, pm["id"], {"n": "{{$card_number}}"})
    for url in (
        f"https://localhost:{processor.port}/v1",  # another host name for the same server
        f"https://127.0.0.1:{processor.port + 1}/v1",  # another port
        f"http://127.0.0.1:{processor.port}/v1",  # another scheme
    ):
        assert_error(client.post("/proxy", {**elsewhere, "destination_url": url}), 403, "IR_40")
    destination_revoke(actor=TEST_ACTOR, destination=destination)
    assert_error(client.post("/proxy", elsewhere), 403, "IR_40")
    assert processor.received() == []
    events = proxy_events()
    assert [event.outcome for event in events] == [AuditEvent.Outcome.DENIED] * 4
    assert all(event.details["reason"] == "not on the allowlist" for event in events)


def test_a_pending_destination_is_not_usable(db, processor):
    from proxy.services import destination_add
    from tests.helpers.customers import create_customer
    from tests.helpers.tenants import make_tenant

    tenant = make_tenant("Pending")
    client = VaultClient(issue_key(tenant, key_scopes=PROXY_SCOPES), tenant.profile.id)
    destination = destination_add(
        actor=TEST_ACTOR, merchant=tenant.merchant, url=processor.url, ca_bundle=processor.ca_pem
    )
    assert destination.state == ProxyDestination.State.PENDING
    pm = vault_card(client, create_customer(client))
    assert_error(client.post("/proxy", proxy_body(processor, pm["id"], {"n": "{{$card_number}}"})), 403, "IR_40")
    assert processor.received() == []


def test_another_merchants_destination_and_card_are_out_of_reach(shop, other_tenant, processor):
    _, client, customer, _ = shop
    other = VaultClient(issue_key(other_tenant, key_scopes=PROXY_SCOPES), other_tenant.profile.id)
    pm = vault_card(client, customer)
    # The other merchant has no destination: the processor is on this shop's allowlist only.
    assert_error(other.post("/proxy", proxy_body(processor, pm["id"], {"n": "{{$card_number}}"})), 403, "IR_40")
    from proxy.services import destination_add

    destination_add(
        actor=TEST_ACTOR,
        merchant=other_tenant.merchant,
        url=processor.url,
        ca_bundle=processor.ca_pem,
        single_control=True,
    )
    assert_error(other.post("/proxy", proxy_body(processor, pm["id"], {"n": "{{$card_number}}"})), 404, "HE_02")
    assert processor.received() == []


def test_a_deleted_card_is_not_found(shop, processor):
    _, client, customer, _ = shop
    pm = vault_card(client, customer)
    assert client.delete(f"/payment_methods/{pm['id']}").status_code == 200
    assert_error(client.post("/proxy", proxy_body(processor, pm["id"], {"n": "{{$card_number}}"})), 404, "HE_02")


def test_an_untrusted_certificate_is_refused(shop, processor, settings):
    tenant, client, customer, destination = shop
    pm = vault_card(client, customer)
    ProxyDestination.objects.for_merchant(tenant.merchant).filter(pk=destination.pk).update(ca_bundle="")
    response = client.post("/proxy", proxy_body(processor, pm["id"], {"n": "{{$card_number}}"}))
    error = assert_error(response, 502, "HE_03")
    assert "certificate" in error["error"]["message"]
    assert processor.received() == []
    (event,) = proxy_events()
    assert event.outcome == AuditEvent.Outcome.FAILURE


def test_a_slow_destination_times_out(shop, processor, settings):
    _, client, customer, _ = shop
    pm = vault_card(client, customer)
    settings.VAULT_PROXY_READ_TIMEOUT = 0.5
    processor.answer(delay_ms=1500)
    assert_error(client.post("/proxy", proxy_body(processor, pm["id"], {"n": "{{$card_number}}"})), 504, "HE_03")


def test_size_limits_both_ways(shop, processor, settings):
    _, client, customer, _ = shop
    pm = vault_card(client, customer)
    settings.VAULT_PROXY_MAX_RESPONSE_BYTES = 1000
    processor.answer(body="x" * 5000)
    assert_error(client.post("/proxy", proxy_body(processor, pm["id"], {"n": "{{$card_number}}"})), 502, "HE_03")
    settings.VAULT_PROXY_MAX_REQUEST_BYTES = 100
    processor.forget()
    big = {"n": "{{$card_number}}", "pad": "y" * 200}
    assert_error(client.post("/proxy", proxy_body(processor, pm["id"], big)), 413, "IR_06")
    assert processor.received() == []


def test_proxy_calls_have_their_own_rate_limit(shop, processor, settings):
    _, client, customer, _ = shop
    pm = vault_card(client, customer)
    settings.VAULT_PROXY_RATE_LIMIT_PER_MINUTE = 2
    body = proxy_body(processor, pm["id"], {"n": "{{$card_number}}"})
    statuses = [client.post("/proxy", body).status_code for _ in range(3)]
    assert statuses[2] == 429 and len(processor.received()) == statuses.count(200)
    assert client.get(f"/payment_methods/{pm['id']}").status_code == 200  # other routes keep their own limit


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"method": "TRACE"}, 400),
        ({"method": "post"}, 400),
        ({"destination_url": "ftp://127.0.0.1/x"}, 400),
        ({"destination_url": "https://user:pw@127.0.0.1/x"}, 400),
        ({"destination_url": "https://127.0.0.1:99999/x"}, 400),
        ({"destination_url": "https://127.0.0.1/a b"}, 400),
        ({"destination_url": "/relative"}, 400),
        ({"destination_url": 7}, 400),
        ({"headers": {"X-A": "a\r\nX-Injected: 1"}}, 400),
        ({"headers": {"Bad Name": "a"}}, 400),
        ({"headers": {"X-A": 1}}, 400),
        ({"headers": ["X-A"]}, 400),
        ({"headers": {f"X-{i}": "a" for i in range(65)}}, 400),
        ({"token": "pm_' OR 1=1"}, 400),
        ({"token": VISA}, 400),
        ({"token_type": "CardNumber"}, 400),
        ({"surprise": 1}, 400),
    ],
)
def test_bad_input_is_refused_cleanly(shop, processor, change, status):
    _, client, customer, _ = shop
    pm = vault_card(client, customer)
    body = {**proxy_body(processor, pm["id"], {"n": "{{$card_number}}"}), **change}
    response = client.post("/proxy", body)
    assert response.status_code == status, response.content
    assert VISA not in response.content.decode()
    assert processor.received() == []


@pytest.mark.parametrize("missing", ["destination_url", "headers", "method", "request_body", "token", "token_type"])
def test_each_field_is_required(shop, processor, missing):
    _, client, customer, _ = shop
    pm = vault_card(client, customer)
    body = proxy_body(processor, pm["id"], {"n": "{{$card_number}}"})
    del body[missing]
    assert client.post("/proxy", body).status_code == 400


def test_a_value_a_header_cannot_carry_is_refused_and_audited(shop, processor):
    _, client, customer, _ = shop
    pm = create_payment_method(client, customer["id"], card_holder_name="Łukasz Wójcik")
    headers = {"Content-Type": "application/json", "X-Holder": "{{$card_holder_name}}"}
    assert_error(client.post("/proxy", proxy_body(processor, pm["id"], {}, headers=headers)), 400, "IR_06")
    assert processor.received() == []
    (event,) = proxy_events()
    assert event.outcome == AuditEvent.Outcome.FAILURE


def test_an_escaped_card_number_in_the_answer_is_masked_once_parsed(shop, processor):
    _, client, customer, _ = shop
    pm = vault_card(client, customer)
    processor.answer(body='{"n": "\\u00345555555555554444"}')
    response = client.post("/proxy", proxy_body(processor, pm["id"], {"n": "{{$card_number}}"}))
    assert "5555555555554444" not in response.content.decode()
    assert "5555555555554444" not in json.dumps(response.json(), ensure_ascii=False)
