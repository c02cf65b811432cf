"""No card number at rest in clear, in logs or in the audit trail (SECURITY.md requirements 2 and 5),
nor any key that could open one: each test runs once per key provider (the keyring, SoftHSM2, moto's
KMS server)."""

import base64
import json
import logging
import re

import pytest
from django.apps import apps
from django.db import connection

from core.card_numbers import may_hold_card_number
from tests.helpers.customers import create_customer
from tests.helpers.payment_methods import card_body, card_number

pytestmark = pytest.mark.usefixtures("key_provider")

# Long hex runs are ids, fingerprints and request ids, and UUIDs name KMS keys (in a key ARN): random
# hex may hold a digit run by chance. A KMS key's UUID, its groups joined by their dashes, holds a
# Luhn-valid run of 12 or more digits about once in a hundred keys.
_HEX_TOKEN = re.compile(r"[0-9a-f]{32,}|(?<![0-9a-f-])[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}(?![0-9a-f])")


def database_dump() -> str:
    rows = []
    for model in apps.get_models():
        rows.extend(model.objects.values())
    return json.dumps(rows, default=str)


def test_a_hundred_cards_leave_no_number_in_clear(api, caplog):
    caplog.set_level(logging.DEBUG)
    customer = create_customer(api)
    numbers = [card_number(i, prefix="4111") for i in range(100)]
    cvcs = [f"{7000 + i}" for i in range(100)]
    responses = [
        api.post("/payment_methods", card_body(customer["id"], number, card_cvc=cvc))
        for number, cvc in zip(numbers, cvcs, strict=True)
    ]
    assert all(response.status_code == 200 for response in responses)
    dump = database_dump()
    without_hex = _HEX_TOKEN.sub("", dump)
    for number in numbers:
        assert number not in dump and number not in caplog.text
        assert number[6:12] not in without_hex  # not even the middle digits
    for cvc in cvcs:
        # A stored CVC would be a value of its own; its digits may occur inside hex or base64 by chance.
        assert f'"{cvc}"' not in dump and cvc not in caplog.text
    for response in responses:
        body = response.content.decode()
        assert not any(number in body for number in numbers)
        assert not any(f'"{cvc}"' in body for cvc in cvcs)
        card = response.json()["payment_method_data"]["card"]
        assert len(card["card_isin"]) + len(card["last4_digits"]) <= 8 and len(card["last4_digits"]) == 4
    # The generous check (any Luhn-valid 12-19 digit run): SECURITY asks for no such run at all.
    assert not may_hold_card_number(without_hex)
    assert not may_hold_card_number(_HEX_TOKEN.sub("", caplog.text))


def test_the_database_holds_ciphertext_only(api):
    customer = create_customer(api)
    api.post("/payment_methods", card_body(customer["id"], card_number(7)))
    with connection.cursor() as cursor:
        cursor.execute("SELECT sealed_card FROM tokens_paymentmethod")
        (sealed,) = cursor.fetchone()
    assert sealed.startswith("v2.1.") and card_number(7) not in sealed


def test_no_merchant_key_or_data_key_is_stored_or_logged_in_clear(api, tenant, other_tenant, caplog, settings):
    from tests.helpers.api import VaultClient
    from tokens import merchant_keys
    from tokens.models import MerchantKey

    caplog.set_level(logging.DEBUG)
    other_api = VaultClient(other_tenant.key, other_tenant.profile.id)
    for client in (api, other_api):
        response = client.post("/payment_methods", card_body(create_customer(client)["id"], card_number(1)))
        assert response.status_code == 200
    keys = [merchant_keys.merchant_key(row.merchant_id, row.version) for row in MerchantKey.objects.all()]
    assert len(keys) == 2 and keys[0] != keys[1]  # a key of its own per merchant
    dump = database_dump()
    root_keys = list(settings.VAULT_KEYRING.values()) if settings.VAULT_KEY_PROVIDER == "local" else []
    for key in keys + root_keys:
        for spelling in (key.hex(), base64.b64encode(key).decode(), base64.urlsafe_b64encode(key).decode()):
            assert spelling not in dump and spelling not in caplog.text
