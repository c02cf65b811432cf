"""A payment method and its audit row written together (`audit_with`): on PostgreSQL one statement,
outside a request transaction; both rows or neither, whichever of them the database refuses. A reveal's
audit row on its own (`audit_alone`): one statement, and no card without it."""

from contextlib import contextmanager

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent
from audit.sealing import seal_pending
from core.prepared import PreparedInsert, write_together
from merchants.scopes import DEFAULT_SCOPES, PAYMENT_METHODS_REVEAL
from tests.helpers.api import VaultClient, assert_error
from tests.helpers.customers import create_customer
from tests.helpers.payment_methods import card_body, card_number, create_payment_method
from tests.helpers.tenants import issue_key, make_tenant
from tokens.models import PaymentMethod

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def audit_table_gone():
    """The audit table out of reach, as a dropped grant or a broken disk would leave it: the real
    database refuses the audit insert (the statement names a table that is not there)."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent RENAME TO audit_auditevent_away")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE audit_auditevent_away RENAME TO audit_auditevent")


@pytest.fixture
def shop():
    tenant = make_tenant("Together")
    return VaultClient(tenant.key, tenant.profile.id)


def test_a_create_reads_in_one_query_and_writes_both_rows_in_one_statement_on_postgresql(shop):
    customer = create_customer(shop)
    create_payment_method(shop, customer["id"], card_number(6))  # the merchant's key is made with the first
    with CaptureQueriesContext(connection) as queries:
        created = create_payment_method(shop, customer["id"], card_number(7))
    written = ('INSERT INTO "tokens_paymentmethod"', 'INSERT INTO "audit_auditevent"')
    inserts = [q["sql"] for q in queries.captured_queries if any(table in q["sql"] for table in written)]
    row = AuditEvent.objects.get(action="payment_method.create", object_id=created["id"])
    assert row.merchant_id == PaymentMethod.objects.get(pk=created["id"]).merchant_id and row.seq is None
    # Apart from the rate limit's counter (in the database here: no Redis in these tests), a create
    # of a card new to the customer reads the customer and checks for the same card in one query...
    statements = [q["sql"] for q in queries.captured_queries if "merchants_ratelimitcounter" not in q["sql"]]
    assert statements[0].startswith('SELECT "customers_customer"."id"') and '"tokens_paymentmethod"' in statements[0]
    # ...then writes (on PostgreSQL in one statement, outside any transaction).
    assert [sql for sql in statements[1:] if not sql.startswith(("BEGIN", "COMMIT"))] == inserts
    if connection.vendor == "postgresql":
        assert len(inserts) == 1 and inserts[0].startswith("WITH first_row AS (INSERT INTO")
        assert not any(q["sql"] in ("BEGIN", "COMMIT") for q in queries.captured_queries)
    else:
        assert len(inserts) == 2
    assert seal_pending().rows >= 1 and AuditEvent.objects.get(pk=row.pk).seq is not None


def test_no_card_is_stored_when_the_database_refuses_its_audit_row(shop):
    customer = create_customer(shop)
    before = PaymentMethod.objects.count()
    with audit_table_gone():
        response = shop.post("/payment_methods", card_body(customer["id"], card_number(8)))
    assert_error(response, 503, "HE_00")
    assert card_number(8) not in response.content.decode()
    assert PaymentMethod.objects.count() == before
    # And the same card goes in once the trail is back.
    assert create_payment_method(shop, customer["id"], card_number(8))["id"]


def test_both_rows_or_neither_when_the_first_row_is_refused():
    """The first row breaks a unique constraint: no audit row is left behind, and inside a
    transaction the savepoint keeps the transaction usable."""
    tenant = make_tenant("Constraint")
    now = timezone.now()
    cards, events = PreparedInsert(PaymentMethod), PreparedInsert(AuditEvent)

    def card(pm_id: str):
        return cards.statement(
            id=pm_id, merchant=tenant.merchant, profile=tenant.profile, storage_type="persistent",
            card_isin="4242", last4_digits="4242", expiry_month="12", expiry_year="2035", created=now,
            sealed_card="v2.x",
        )  # fmt: skip

    def event(actor_id: str):
        return events.statement(occurred_at=now, actor_kind="operator", actor_id=actor_id, action="x")

    write_together(card("01_pm_together"), event("first"))
    assert PaymentMethod.objects.filter(pk="01_pm_together").exists()
    with pytest.raises(IntegrityError):
        write_together(card("01_pm_together"), event("orphan"))
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            write_together(card("01_pm_together"), event("orphan"))
        assert PaymentMethod.objects.filter(pk="01_pm_together").count() == 1  # the transaction still answers
    assert list(AuditEvent.objects.filter(action="x").values_list("actor_id", flat=True)) == ["first"]


@pytest.fixture
def revealer():
    tenant = make_tenant("Reveals")
    return VaultClient(issue_key(tenant, key_scopes=[*DEFAULT_SCOPES, PAYMENT_METHODS_REVEAL]), tenant.profile.id)


def test_a_reveal_reads_the_card_and_writes_its_audit_row_alone(revealer):
    customer = create_customer(revealer)
    created = create_payment_method(revealer, customer["id"], card_number(9))
    path = f"/payment_methods/{created['id']}?fetch_raw_detail=true"
    revealer.get(path)  # the merchant's key is cached by the first
    with CaptureQueriesContext(connection) as queries:
        revealed = revealer.get(path).json()
    assert revealed["raw_payment_method_data"]["card"]["card_number"] == card_number(9)
    statements = [q["sql"] for q in queries.captured_queries if "merchants_ratelimitcounter" not in q["sql"]]
    assert len(statements) == 2 and statements[0].startswith('SELECT "tokens_paymentmethod"."id"')
    assert statements[1].startswith('INSERT INTO "audit_auditevent"')  # no BEGIN or COMMIT around it
    assert AuditEvent.objects.filter(action="payment_method.reveal", object_id=created["id"]).count() == 2


def test_no_card_is_revealed_when_the_database_refuses_its_audit_row(revealer):
    customer = create_customer(revealer)
    created = create_payment_method(revealer, customer["id"], card_number(10))
    with audit_table_gone():
        response = revealer.get(f"/payment_methods/{created['id']}?fetch_raw_detail=true")
    assert_error(response, 503, "HE_00")
    assert card_number(10) not in response.content.decode()


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_an_update_or_delete_writes_the_change_and_its_audit_row_in_one_statement(shop, method):
    customer = create_customer(shop)
    created = create_payment_method(shop, customer["id"], card_number(11))
    path = f"/payment_methods/{created['id']}" + ("/update_saved_payment_method" if method == "PATCH" else "")
    body = {"payment_method_data": {"card": {"nick_name": "Travel"}}} if method == "PATCH" else None
    with CaptureQueriesContext(connection) as queries:
        response = shop.request(method, path, body)
    assert response.status_code == 200, response.content
    statements = [q["sql"] for q in queries.captured_queries if "merchants_ratelimitcounter" not in q["sql"]]
    writes = [sql for sql in statements if sql.startswith(("UPDATE", "INSERT", "WITH"))]
    if connection.vendor == "postgresql":
        assert len(writes) == 1 and writes[0].startswith('WITH first_row AS (UPDATE "tokens_paymentmethod"')
        assert ') INSERT INTO "audit_auditevent"' in writes[0]
    else:
        assert [sql.split(" ", 1)[0] for sql in writes] == ["UPDATE", "INSERT"]
    row = PaymentMethod.objects.get(pk=created["id"])
    assert row.nick_name == "Travel" if method == "PATCH" else row.status == "redacted" and not row.sealed_card
    action = "payment_method.update" if method == "PATCH" else "payment_method.delete"
    assert AuditEvent.objects.filter(action=action, object_id=created["id"]).count() == 1


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_nothing_changes_when_the_database_refuses_the_audit_row_of_an_update_or_delete(shop, method):
    customer = create_customer(shop)
    created = create_payment_method(shop, customer["id"], card_number(12))
    before = PaymentMethod.objects.get(pk=created["id"])
    path = f"/payment_methods/{created['id']}" + ("/update_saved_payment_method" if method == "PATCH" else "")
    body = {"payment_method_data": {"card": {"nick_name": "Travel"}}} if method == "PATCH" else None
    with audit_table_gone():
        response = shop.request(method, path, body)
    assert_error(response, 503, "HE_00")
    after = PaymentMethod.objects.get(pk=created["id"])
    assert (after.status, after.nick_name, after.sealed_card, after.updated_at) == (
        before.status, before.nick_name, before.sealed_card, before.updated_at,
    )  # fmt: skip
