"""The idempotency digest: keyed with a key of its own, blind to the CVC, stable across key rotation."""

import hashlib
import json

from customers.models import Customer
from idempotency.digest import request_digest
from tests.helpers.customers import create_customer
from tests.helpers.payment_methods import VISA, card_body
from tokens.models import PaymentMethod

BODY = {"payment_method_data": {"card": {"card_number": VISA, "card_cvc": "123"}}, "customer_id": "c"}


def test_the_cvc_does_not_enter_the_digest():
    other_cvc = {"payment_method_data": {"card": {"card_number": VISA, "card_cvc": "999"}}, "customer_id": "c"}
    no_cvc = {"payment_method_data": {"card": {"card_number": VISA}}, "customer_id": "c"}
    digests = {request_digest(body, merchant_id="m", operation="op") for body in (BODY, other_cvc, no_cvc)}
    assert len(digests) == 1


def test_the_digest_tells_bodies_merchants_and_operations_apart():
    base = request_digest(BODY, merchant_id="m", operation="op")
    other_card = {**BODY, "customer_id": "d"}
    assert request_digest(other_card, merchant_id="m", operation="op") != base
    assert request_digest(BODY, merchant_id="n", operation="op") != base
    assert request_digest(BODY, merchant_id="m", operation="other") != base


def test_the_digest_is_keyed_and_does_not_depend_on_the_fingerprint_key(settings):
    digest = request_digest(BODY, merchant_id="m", operation="op")
    assert digest.startswith("i1$")
    plain = json.dumps(BODY, sort_keys=True, separators=(",", ":"))
    assert digest.split("$", 1)[1] != hashlib.sha256(plain.encode()).hexdigest()
    settings.VAULT_FINGERPRINT_KEYS = {"7": bytes(range(32))}
    assert request_digest(BODY, merchant_id="m", operation="op") == digest
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"
    assert request_digest(BODY, merchant_id="m", operation="op") != digest


def test_a_retried_card_create_with_another_cvc_is_the_same_request(api):
    customer = create_customer(api)
    headers = {"Idempotency-Key": "cvc-retry"}
    first = api.post("/payment_methods", card_body(customer["id"], card_cvc="123"), headers=headers)
    second = api.post("/payment_methods", card_body(customer["id"], card_cvc="4567"), headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert PaymentMethod.objects.count() == 1 and Customer.objects.count() == 1
