"""A CVC kept only until authorisation: sealed on create or update for VAULT_CVC_TTL, used once by
the proxy's {{$card_cvc}} and destroyed, never revealed or logged, purged on expiry."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from audit.actions import AuditAction
from audit.models import AuditEvent
from merchants import scopes
from tests.helpers.api import VaultClient, assert_error
from tests.helpers.payment_methods import card_body
from tests.helpers.tenants import issue_key
from tests.proxy.helpers import proxy_body, received_json
from tokens.models import PaymentMethod

CVC = "7391"


def vault_with_cvc(client, customer, cvc=CVC):
    response = client.post("/payment_methods", card_body(customer["id"], card_cvc=cvc))
    assert response.status_code == 200, response.content
    return response.json()


def stored(pm_id) -> PaymentMethod:
    return PaymentMethod.unscoped.get(pk=pm_id)


def test_a_cvc_is_stored_for_fifteen_minutes_and_said_so(shop, caplog):
    tenant, client, customer, _ = shop
    pm = vault_with_cvc(client, customer)
    storage = pm["card_cvc_token_storage"]
    assert storage["is_stored"] is True
    left = parse_datetime(storage["expires_at"]) - timezone.now()
    assert timedelta(minutes=14) < left <= timedelta(minutes=15)
    assert client.get(f"/payment_methods/{pm['id']}").json()["card_cvc_token_storage"] == storage
    # Never revealed: a reveal key gets the card without it.
    revealer = VaultClient(issue_key(tenant, key_scopes=list(scopes.ALL_SCOPES)), tenant.profile.id)
    raw = revealer.get(f"/payment_methods/{pm['id']}?fetch_raw_detail=true").json()["raw_payment_method_data"]
    assert raw["card"]["card_cvc"] is None
    row = stored(pm["id"])
    assert row.sealed_cvc.startswith("v2.") and row.sealed_cvc != row.sealed_card
    assert CVC not in caplog.text
    created = AuditEvent.objects.get(action=AuditAction.PAYMENT_METHOD_CREATE, object_id=pm["id"])
    assert created.details["cvc_stored"] is True and CVC not in str(created.details)


def test_the_proxy_uses_it_once_then_it_is_gone(shop, processor, caplog):
    _, client, customer, _ = shop
    pm = vault_with_cvc(client, customer)
    body = proxy_body(processor, pm["id"], {"number": "{{$card_number}}", "cvc": "{{$card_cvc}}"})
    processor.answer(echo=True)
    answer = client.post("/proxy", body).json()
    assert received_json(processor)["cvc"] == CVC
    assert answer["response"]["cvc"] == "***"  # echoed back, masked
    assert stored(pm["id"]).sealed_cvc == "" and stored(pm["id"]).cvc_expires_at is None
    assert client.get(f"/payment_methods/{pm['id']}").json()["card_cvc_token_storage"] is None
    processor.forget()
    error = assert_error(client.post("/proxy", body), 400, "IR_06")
    assert "{{$card_cvc}}" in error["error"]["message"]
    assert processor.received() == []
    used = AuditEvent.objects.get(action=AuditAction.PAYMENT_METHOD_PROXY, outcome="success")
    assert used.details["cvc_used"] is True and CVC not in str(used.details)
    assert CVC not in caplog.text


def test_a_refused_placeholder_leaves_the_cvc_stored(shop, processor):
    _, client, customer, _ = shop
    pm = vault_with_cvc(client, customer)
    body = proxy_body(processor, pm["id"], {"cvc": "{{$card_cvc}}", "other": "{{$unknown}}"})
    assert_error(client.post("/proxy", body), 400, "IR_06")
    assert stored(pm["id"]).sealed_cvc


def test_an_expired_cvc_is_never_used_and_purge_expired_destroys_it(shop, processor):
    _, client, customer, _ = shop
    pm = vault_with_cvc(client, customer)
    PaymentMethod.unscoped.filter(pk=pm["id"]).update(cvc_expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(f"/payment_methods/{pm['id']}").json()["card_cvc_token_storage"] is None
    body = proxy_body(processor, pm["id"], {"cvc": "{{$card_cvc}}"})
    assert_error(client.post("/proxy", body), 400, "IR_06")
    assert stored(pm["id"]).sealed_cvc  # not used, but still there until the purge
    out = StringIO()
    call_command("purge_expired", stdout=out)
    assert "destroyed 1 expired stored CVC(s)" in out.getvalue()
    assert stored(pm["id"]).sealed_cvc == "" and stored(pm["id"]).cvc_expires_at is None


def test_an_update_stores_a_fresh_cvc_and_a_revault_too(shop, processor):
    _, client, customer, _ = shop
    pm = client.post("/payment_methods", card_body(customer["id"])).json()
    assert pm["card_cvc_token_storage"] is None
    updated = client.patch(
        f"/payment_methods/{pm['id']}/update_saved_payment_method",
        {"payment_method_data": {"card": {"card_cvc": "123"}}},
    )
    assert updated.status_code == 200, updated.content
    assert updated.json()["card_cvc_token_storage"]["is_stored"] is True
    change = AuditEvent.objects.get(action=AuditAction.PAYMENT_METHOD_UPDATE, object_id=pm["id"])
    assert change.details["fields"] == ["card_cvc"]
    again = vault_with_cvc(client, customer, "456")  # the same card vaulted again, with a new CVC
    assert again["id"] == pm["id"]
    client.post("/proxy", proxy_body(processor, pm["id"], {"cvc": "{{$card_cvc}}"}))
    assert received_json(processor)["cvc"] == "456"


def test_deleting_the_card_destroys_its_cvc(shop):
    _, client, customer, _ = shop
    pm = vault_with_cvc(client, customer)
    assert client.delete(f"/payment_methods/{pm['id']}").status_code == 200
    assert stored(pm["id"]).sealed_cvc == "" and stored(pm["id"]).cvc_expires_at is None


def test_a_sealed_cvc_moved_to_another_card_does_not_open(shop, processor):
    _, client, customer, _ = shop
    first = vault_with_cvc(client, customer)
    second = client.post("/payment_methods", card_body(customer["id"], "5555555555554444")).json()
    PaymentMethod.unscoped.filter(pk=second["id"]).update(
        sealed_cvc=stored(first["id"]).sealed_cvc, cvc_expires_at=stored(first["id"]).cvc_expires_at
    )
    assert_error(client.post("/proxy", proxy_body(processor, second["id"], {"cvc": "{{$card_cvc}}"})), 503, "HE_00")
    assert processor.received() == []


@pytest.mark.parametrize(
    ("answer", "check"),
    [
        ({"body": {"cvc": int(CVC)}}, lambda answer: answer["response"]["cvc"] == "***"),
        ({"body": f"<p>cvc {CVC} ok</p>"}, lambda answer: answer["response"] == "<p>cvc *** ok</p>"),
        ({"headers": {"X-Cvc": CVC}}, lambda answer: answer["response_headers"]["x-cvc"] == "***"),
    ],
)
def test_an_echoed_cvc_is_masked_as_a_number_in_text_and_in_headers(shop, processor, answer, check):
    _, client, customer, _ = shop
    pm = vault_with_cvc(client, customer)
    processor.answer(**answer)
    response = client.post("/proxy", proxy_body(processor, pm["id"], {"cvc": "{{$card_cvc}}"}))
    assert response.status_code == 200 and check(response.json())
    assert CVC not in response.content.decode()


def test_a_call_that_fails_after_the_card_was_read_is_audited(shop, processor, settings):
    _, client, customer, _ = shop
    pm = vault_with_cvc(client, customer)
    settings.VAULT_PROXY_MAX_REQUEST_BYTES = 50
    body = proxy_body(processor, pm["id"], {"cvc": "{{$card_cvc}}", "pad": "x" * 100})
    assert_error(client.post("/proxy", body), 413, "IR_06")
    event = AuditEvent.objects.get(action=AuditAction.PAYMENT_METHOD_PROXY)
    assert event.outcome == "failure" and "larger than" in event.details["reason"]
    assert processor.received() == []
