"""Generic tokenization (/v2/tokenize): any JSON sealed for a customer, never readable through any
route, substituted by the proxy as `token_type: TokenizationId` with {{$path.to.field}}."""

import json

import pytest
from django.utils.dateparse import parse_datetime

from audit.actions import AuditAction
from audit.models import AuditEvent
from tests.helpers.api import assert_error
from tests.helpers.customers import create_customer
from tests.proxy.helpers import proxy_body, received_json
from tokens.models import GenericToken

ACCOUNT = {
    "bank": {"account_number": "GB82WEST12345698765432", "sort_code": "400515", "verified": True},
    "owners": [{"name": "Ada Lovelace"}, {"name": "Charles Babbage"}],
    "national_id": "AB123456C",
    "note": None,
}


def tokenize(client, customer, document=ACCOUNT, path="/v2/tokenize"):
    response = client.post(path, {"customer_id": customer["id"], "token_request": document})
    assert response.status_code == 200, response.content
    return response.json()


def test_a_token_is_created_sealed_and_audited(shop):
    tenant, client, customer, _ = shop
    token = tokenize(client, customer)
    assert token["id"].startswith("01_tok_") and token["flag"] == "enabled"
    assert parse_datetime(token["created_at"]) is not None
    assert tokenize(client, customer, path="/tokenize")["id"] != token["id"]
    row = GenericToken.objects.for_merchant(tenant.merchant).get(pk=token["id"])
    assert row.sealed_value.startswith("v2.") and "GB82WEST" not in row.sealed_value
    event = AuditEvent.objects.get(action=AuditAction.GENERIC_TOKEN_CREATE, object_id=token["id"])
    assert event.details == {"customer_id": customer["id"]}


def test_upstream_mounts_it_under_v2_only(shop):
    _, client, customer, _ = shop
    response = client.post("/v1/tokenize", {"customer_id": customer["id"], "token_request": ACCOUNT})
    assert_error(response, 404, "IR_02")


def test_no_route_reads_a_token_back(shop):
    _, client, customer, _ = shop
    token = tokenize(client, customer)
    for path in (f"/v2/tokenize/{token['id']}", f"/tokenize/{token['id']}"):
        assert_error(client.get(path), 405, "IR_03")
        assert_error(client.post(path, {}), 405, "IR_03")
    for response in (client.get(f"/customers/{customer['id']}"), client.get("/customers")):
        assert "GB82WEST" not in response.content.decode()


def test_the_proxy_substitutes_fields_by_path(shop, processor):
    _, client, customer, _ = shop
    token = tokenize(client, customer)
    body = {
        "account": "{{$bank.account_number}}",
        "sort": "{{$bank.sort_code}}",
        "verified": "{{$bank.verified}}",
        "second_owner": "{{$owners.1.name}}",
    }
    headers = {"Content-Type": "application/json", "X-National-Id": "{{$national_id}}"}
    answer = client.post(
        "/v2/proxy", proxy_body(processor, token["id"], body, headers=headers, token_type="TokenizationId")
    )
    assert answer.status_code == 200, answer.content
    assert received_json(processor) == {
        "account": "GB82WEST12345698765432",
        "sort": "400515",
        "verified": "true",
        "second_owner": "Charles Babbage",
    }
    (request,) = processor.received()
    assert dict((name.lower(), value) for name, value in request["headers"])["x-national-id"] == "AB123456C"
    event = AuditEvent.objects.get(action=AuditAction.PAYMENT_METHOD_PROXY)
    assert event.object_type == "generic_token" and event.object_id == token["id"]
    assert event.details["token_type"] == "tokenization_id" and "GB82" not in json.dumps(event.details)


def test_values_sent_back_are_masked(shop, processor):
    _, client, customer, _ = shop
    token = tokenize(client, customer)
    processor.answer(echo=True)
    body = {"account": "{{$bank.account_number}}", "id": "{{$national_id}}"}
    answer = client.post("/proxy", proxy_body(processor, token["id"], body, token_type="TokenizationId")).json()
    assert answer["response"] == {"account": "******************5432", "id": "*****456C"}


@pytest.mark.parametrize("path", ["bank.iban", "owners.5.name", "bank", "owners", "note", "national_id.x"])
def test_a_path_without_a_single_value_is_refused_by_name(shop, processor, path):
    _, client, customer, _ = shop
    token = tokenize(client, customer)
    body = {"x": "{{$" + path + "}}"}
    error = assert_error(
        client.post("/proxy", proxy_body(processor, token["id"], body, token_type="TokenizationId")), 400, "IR_06"
    )
    assert "{{$" + path + "}}" in error["error"]["message"]
    assert processor.received() == []


def test_delete_destroys_the_value(shop, processor):
    tenant, client, customer, _ = shop
    token = tokenize(client, customer)
    body = {"customer_id": customer["id"], "session_id": "01_pms_0190000000007000800000000000abcd"}
    response = client.delete(f"/v2/tokenize/{token['id']}", body)
    assert response.status_code == 200 and response.json() == {"id": token["id"]}
    row = GenericToken.objects.for_merchant(tenant.merchant).get(pk=token["id"])
    assert row.flag == "disabled" and row.sealed_value == ""
    assert_error(client.delete(f"/v2/tokenize/{token['id']}", body), 404, "HE_02")
    proxied = proxy_body(processor, token["id"], {"a": "{{$national_id}}"}, token_type="TokenizationId")
    assert_error(client.post("/proxy", proxied), 404, "HE_02")
    assert AuditEvent.objects.filter(action=AuditAction.GENERIC_TOKEN_DELETE, object_id=token["id"]).count() == 1


def test_delete_needs_the_tokens_customer(shop):
    _, client, customer, _ = shop
    token = tokenize(client, customer)
    other = create_customer(client, merchant_reference_id="other-customer")
    assert_error(client.delete(f"/v2/tokenize/{token['id']}", {"customer_id": other["id"]}), 404, "HE_02")
    assert_error(client.delete(f"/v2/tokenize/{token['id']}", {}), 400, "IR_04")


def test_another_merchants_token_is_out_of_reach(shop, other_tenant, processor):
    from tests.helpers.api import VaultClient
    from tests.helpers.tenants import issue_key
    from tests.proxy.conftest import PROXY_SCOPES

    _, client, customer, _ = shop
    token = tokenize(client, customer)
    other = VaultClient(issue_key(other_tenant, key_scopes=PROXY_SCOPES), other_tenant.profile.id)
    assert_error(other.delete(f"/v2/tokenize/{token['id']}", {"customer_id": customer["id"]}), 404, "HE_02")
    from proxy.services import destination_add
    from tests.helpers.tenants import TEST_ACTOR

    destination_add(actor=TEST_ACTOR, merchant=other_tenant.merchant, url=processor.url, single_control=True)
    body = proxy_body(processor, token["id"], {"a": "{{$national_id}}"}, token_type="TokenizationId")
    assert_error(other.post("/proxy", body), 404, "HE_02")
    assert processor.received() == []


def test_deleting_the_customer_destroys_its_tokens(shop):
    tenant, client, customer, _ = shop
    token = tokenize(client, customer)
    assert client.delete(f"/customers/{customer['id']}").status_code == 200
    row = GenericToken.objects.for_merchant(tenant.merchant).get(pk=token["id"])
    assert row.flag == "disabled" and row.sealed_value == ""


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"customer_id": "x", "token_request": {"a": 1}}, 400, "IR_06"),
        ({"customer_id": "01_cus_0190000000007000800000000000dead", "token_request": {"a": 1}}, 404, "HE_02"),
        ({"token_request": {"a": 1}}, 400, "IR_04"),
        ({"customer_id": "{customer}", "token_request": ["a"]}, 400, "IR_06"),
        ({"customer_id": "{customer}", "token_request": "a"}, 400, "IR_06"),
        ({"customer_id": "{customer}"}, 400, "IR_04"),
        ({"customer_id": "{customer}", "token_request": {}, "extra": 1}, 400, "IR_06"),
    ],
)
def test_bad_input_is_refused_cleanly(shop, body, status, code):
    _, client, customer, _ = shop
    body = {key: (customer["id"] if value == "{customer}" else value) for key, value in body.items()}
    assert_error(client.post("/v2/tokenize", body), status, code)
    assert not GenericToken.objects.exists()


def test_shredding_the_merchant_destroys_its_tokens_and_cvcs(shop):
    from tests.helpers.console import make_console_user
    from tests.helpers.payment_methods import card_body
    from tests.helpers.tenants import TEST_ACTOR
    from tokens.models import PaymentMethod
    from tokens.shredding import shred_approve, shred_request

    tenant, client, customer, _ = shop
    token = tokenize(client, customer)
    pm = client.post("/payment_methods", card_body(customer["id"], card_cvc="123")).json()
    alice = make_console_user("alice", None, superuser=True)
    bob = make_console_user("bob", None, superuser=True)
    request = shred_request(
        actor=TEST_ACTOR,
        user=alice.user,
        merchant=tenant.merchant,
        reason="offboarded",
        confirmation=tenant.merchant.id,
    )
    shred_approve(actor=TEST_ACTOR, user=bob.user, request=request, confirmation=tenant.merchant.id)
    row = GenericToken.objects.for_merchant(tenant.merchant).get(pk=token["id"])
    assert (row.flag, row.sealed_value) == ("disabled", "")
    card = PaymentMethod.objects.for_merchant(tenant.merchant).get(pk=pm["id"])
    assert (card.sealed_cvc, card.cvc_expires_at) == ("", None)
