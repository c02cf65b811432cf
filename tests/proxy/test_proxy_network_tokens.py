"""Network-token placeholders: the token, its expiry and a fresh cryptogram from the token-service
simulator (a separate process), sent to the processor simulator over TLS."""

import pytest

from audit.actions import AuditAction
from audit.models import AuditEvent
from merchants.credential_cache import credential_cache
from tests.helpers.api import assert_error
from tests.helpers.payment_methods import VISA, card_body
from tests.helpers.token_service import SIM_API_KEY, WEBHOOK_SECRET, SimulatorProcess
from tests.proxy.helpers import proxy_body, received_json

NETWORK_BODY = {
    "token": "{{$network_token}}",
    "exp_month": "{{$network_token_exp_month}}",
    "exp_year": "{{$network_token_exp_year}}",
    "cryptogram": "{{$cryptogram}}",
    "eci": "{{$eci}}",
}


@pytest.fixture(scope="module")
def token_service(tmp_path_factory):
    process = SimulatorProcess(tmp_path_factory.mktemp("sim") / "tokens.sqlite3")
    yield process
    process.stop()


@pytest.fixture
def tokenized(shop, token_service, settings):
    settings.VAULT_NT_URL = token_service.url
    settings.VAULT_NT_API_KEY = SIM_API_KEY
    settings.VAULT_NT_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.VAULT_NT_TIMEOUT = 2.0
    token_service.configure(fail_rate=0, latency_ms=0, malformed=False)
    tenant, client, customer, _ = shop
    tenant.profile.network_tokenization_enabled = True
    tenant.profile.save()
    credential_cache.reset()  # the shop's key was verified, with its profile, before the change
    body = card_body(customer["id"])
    body["network_tokenization"] = {"enable": "Enable"}
    pm = client.post("/payment_methods", body).json()
    assert pm["network_token"] is not None, pm
    return client, pm


def test_network_token_placeholders_arrive_with_a_fresh_cryptogram_each_call(tokenized, processor):
    client, pm = tokenized
    first = client.post("/proxy", proxy_body(processor, pm["id"], {**NETWORK_BODY, "card": "{{$card_number}}"}))
    assert first.status_code == 200, first.content
    sent = received_json(processor)
    token = pm["network_token"]["payment_method_data"]
    assert sent["token"].isdigit() and sent["token"] != VISA and sent["token"].endswith(token["last4_digits"])
    assert (sent["exp_month"], sent["exp_year"]) == (
        token["network_token_expiry_month"],
        token["network_token_expiry_year"],
    )
    assert sent["cryptogram"] and sent["eci"] and sent["card"] == VISA
    processor.forget()
    assert client.post("/proxy", proxy_body(processor, pm["id"], NETWORK_BODY)).status_code == 200
    again = received_json(processor)
    assert again["token"] == sent["token"] and again["cryptogram"] != sent["cryptogram"]
    events = AuditEvent.objects.filter(action=AuditAction.PAYMENT_METHOD_PROXY, outcome="success")
    assert events.count() == 2


def test_the_token_number_in_the_answer_is_masked(tokenized, processor):
    client, pm = tokenized
    processor.answer(echo=True)
    answer = client.post("/proxy", proxy_body(processor, pm["id"], {"t": "{{$network_token}}"})).json()
    last4 = pm["network_token"]["payment_method_data"]["last4_digits"]
    assert answer["response"]["t"] == "*" * 12 + last4


def test_the_token_service_down_is_a_503_and_nothing_is_sent(tokenized, processor, token_service):
    client, pm = tokenized
    token_service.configure(fail_rate=1.0)
    assert_error(client.post("/proxy", proxy_body(processor, pm["id"], NETWORK_BODY)), 503, "HE_00")
    assert processor.received() == []
    failure = AuditEvent.objects.filter(action=AuditAction.PAYMENT_METHOD_PROXY, outcome="failure")
    assert failure.count() == 1
