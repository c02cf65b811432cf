"""`manage.py seed_payment_methods` (benchmark data): cards go through the real sealing path, every row
decrypts to a Luhn-valid number that matches its masked columns and fingerprint, each batch is audited
in its own transaction, and seeded cards are served by the API like vaulted ones."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from core.card_numbers import luhn_valid
from customers.models import Customer
from merchants.models import Merchant
from tests.helpers.customers import create_customer
from tokens import cards, crypto
from tokens.models import PaymentMethod


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_payment_methods", *args, "--no-progress", stdout=out, stderr=StringIO())
    return out.getvalue()


def assert_sound(payment_method: PaymentMethod) -> str:
    secret = crypto.open_sealed(
        payment_method.sealed_card, merchant_id=payment_method.merchant_id, record_id=payment_method.id
    )
    number = secret.number
    assert luhn_valid(number) and len(number) == 16
    assert payment_method.card_isin == cards.isin(number)
    assert payment_method.last4_digits == number[-4:]
    assert payment_method.card_network == "Visa"
    assert str(payment_method.merchant_key_version) == payment_method.sealed_card.split(".")[1]
    assert payment_method.card_fingerprint == crypto.fingerprint(secret, merchant_id=payment_method.merchant_id)
    assert payment_method.status == PaymentMethod.Status.ACTIVE
    assert payment_method.storage_type == PaymentMethod.StorageType.PERSISTENT
    assert number not in str(payment_method.__dict__.values())  # only the sealed value holds it
    return number


def test_seed_for_one_customer_decrypts_and_audits_each_batch(api, tenant):
    customer_id = create_customer(api)["id"]
    before = AuditEvent.objects.filter(action="payment_method.seed").count()

    out = seed("25", "--merchant-id", tenant.merchant.id, "--customer-id", customer_id, "--batch-size", "10")

    seeded = list(PaymentMethod.objects.filter(customer_id=customer_id))
    assert len(seeded) == 25
    numbers = {assert_sound(payment_method) for payment_method in seeded}
    assert len(numbers) == 25
    assert {payment_method.profile_id for payment_method in seeded} == {tenant.profile.id}
    events = list(AuditEvent.objects.filter(action="payment_method.seed").order_by("id"))
    assert len(events) - before == 3  # batches of 10, 10 and 5
    assert [event.details["count"] for event in events[before:]] == [10, 10, 5]
    assert {event.merchant_id for event in events[before:]} == {tenant.merchant.id}
    assert {event.actor_kind for event in events[before:]} == {"operator"}
    assert "seeded 25 payment method(s)" in out
    for number in numbers:
        assert number not in out


def test_seeded_cards_are_served_by_the_api(api, tenant):
    customer_id = create_customer(api)["id"]
    seed("3", "--merchant-id", tenant.merchant.id, "--customer-id", customer_id)
    payment_method = PaymentMethod.objects.filter(customer_id=customer_id).first()

    response = api.get(f"/payment_methods/{payment_method.id}")

    assert response.status_code == 200, response.content
    assert response.json()["payment_method_data"]["card"]["last4_digits"] == payment_method.last4_digits
    listed = api.get(f"/customers/{customer_id}/saved_payment_methods")
    assert listed.status_code == 200
    assert len(listed.json()["customer_payment_methods"]) == 3


@pytest.mark.django_db
def test_seed_without_ids_creates_a_merchant_and_customers():
    out = seed("23", "--cards-per-customer", "10", "--batch-size", "100")

    merchant = Merchant.objects.get(name="Seeded merchant")
    assert merchant.id in out
    seeded = list(PaymentMethod.objects.filter(merchant=merchant))
    assert len(seeded) == 23
    for payment_method in seeded:
        assert_sound(payment_method)
    assert Customer.objects.filter(merchant=merchant).count() == 3
    event = AuditEvent.objects.get(action="payment_method.seed", merchant_id=merchant.id)
    assert event.details["count"] == 23 and event.details["customers_created"] == 3


def test_seed_refuses_another_merchants_customer(api, tenant, other_tenant):
    customer_id = create_customer(api)["id"]
    with pytest.raises(CommandError):
        seed("1", "--merchant-id", other_tenant.merchant.id, "--customer-id", customer_id)
    assert not PaymentMethod.objects.filter(merchant=other_tenant.merchant).exists()
