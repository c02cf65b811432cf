"""Prepared queries answer what the ORM answers, on SQLite and on PostgreSQL alike."""

from datetime import datetime, timedelta

import pytest
from django.db import transaction
from django.db.models import Q
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from core.prepared import PreparedQuery
from tests.helpers.customers import create_customer
from tests.helpers.payment_methods import card_body, create_payment_method
from tokens.models import PaymentMethod


def _live(merchant_id: str, payment_method_id: str, now: datetime):
    live = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    return PaymentMethod.objects.for_merchant(merchant_id).filter(live, id=payment_method_id).order_by("pk")


LIVE = PreparedQuery(PaymentMethod, lambda *args: _live(*args)[:1], (str, str, datetime))


@pytest.fixture
def cards(api, tenant):
    customer = create_customer(api)
    persistent = create_payment_method(api, customer["id"])
    body = card_body(customer["id"], "5555555555554444", storage_type="volatile")
    body["billing"] = {"email": "ada@example.com", "address": {"city": "Lisbon"}}
    volatile = api.post("/payment_methods", body).json()
    return tenant.merchant.id, persistent["id"], volatile["id"]


def _fields(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in PaymentMethod._meta.concrete_fields}


def test_rows_are_the_orms_rows(cards):
    merchant_id, *ids = cards
    now = timezone.now()
    for payment_method_id in ids:
        prepared = LIVE.first(merchant_id, payment_method_id, now)
        assert prepared is not None and not prepared._state.adding
        assert _fields(prepared) == _fields(_live(merchant_id, payment_method_id, now).first())
    volatile = LIVE.first(merchant_id, ids[1], now)
    assert volatile.billing["address"]["city"] == "Lisbon"  # JSON converted as the ORM does


def test_arguments_are_bound_anew_each_time(cards, other_tenant):
    merchant_id, persistent_id, volatile_id = cards
    later = timezone.now() + timedelta(days=1)  # past the volatile card's lifetime
    assert LIVE.first(merchant_id, volatile_id, later) is None
    assert LIVE.first(merchant_id, persistent_id, later).id == persistent_id
    assert LIVE.first(other_tenant.merchant.id, persistent_id, timezone.now()) is None


LOCKED = PreparedQuery(PaymentMethod, lambda *args: _live(*args).select_for_update()[:1], (str, str, datetime))


def test_a_row_lock_is_taken_inside_a_transaction(cards):
    merchant_id, persistent_id, _ = cards
    with transaction.atomic():
        assert LOCKED.first(merchant_id, persistent_id, timezone.now()).id == persistent_id


@pytest.mark.django_db(transaction=True)
def test_a_row_lock_outside_a_transaction_is_refused():
    # As the ORM refuses it: a lock that ends with its own statement protects nothing.
    for _ in range(2):  # compiled on the first call, remembered on the second
        with pytest.raises(TransactionManagementError):
            LOCKED.first("mer_x", "01_pm_x", timezone.now())
        with transaction.atomic():
            assert LOCKED.first("mer_x", "01_pm_x", timezone.now()) is None


def test_an_argument_that_does_not_reach_the_sql_is_a_mistake(cards):
    unused = PreparedQuery(
        PaymentMethod, lambda merchant_id, _: PaymentMethod.objects.for_merchant(merchant_id), (str, str)
    )
    with pytest.raises(ValueError, match="did not reach"):
        unused.fetch("mer_x", "y")


def test_a_prepared_insert_stores_what_the_orms_insert_stores(tenant):
    from audit.models import AuditEvent
    from core.prepared import PreparedInsert
    from tokens.models import PaymentMethod as Card

    now = timezone.now()
    values = {
        "merchant": tenant.merchant, "profile": tenant.profile, "storage_type": "volatile", "expires_at": now,
        "card_isin": "4242", "last4_digits": "4242", "expiry_month": "12", "expiry_year": "2035", "created": now,
        "billing": {"address": {"city": "Lisbon"}}, "metadata": {"a": [1, 2]}, "sealed_card": "v2.x",
    }  # fmt: skip
    prepared = PreparedInsert(Card).create(id="01_pm_prepared", **values)
    Card.objects.create(id="01_pm_orm", **values)
    assert not prepared._state.adding and prepared.updated_at is not None  # auto_now filled in
    stored = {row["id"]: row for row in Card.objects.for_merchant(tenant.merchant).values()}
    mine, theirs = stored["01_pm_prepared"], stored["01_pm_orm"]
    assert {k: v for k, v in mine.items() if k not in ("id", "updated_at")} == {
        k: v for k, v in theirs.items() if k not in ("id", "updated_at")
    }
    assert mine["billing"] == {"address": {"city": "Lisbon"}}
    # An auto-incremented id is read back.
    events = PreparedInsert(AuditEvent)
    first = events.create(occurred_at=now, actor_kind="operator", actor_id="t", action="merchant.create", seq=10**9)
    second = events.create(
        occurred_at=now, actor_kind="operator", actor_id="t", action="merchant.create", seq=10**9 + 1
    )
    assert isinstance(first.pk, int) and second.pk > first.pk
    assert AuditEvent.objects.get(pk=second.pk).seq == 10**9 + 1
