"""Rows written before the masking and subtype rules, brought under them by the data migrations."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("tokens", "0002_network_tokens")]
AFTER = [("tokens", "0005_subtype_always_set")]


@pytest.fixture
def old_schema(transactional_db):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    yield apps
    MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())


def _migrate_forward():
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    return executor.loader.project_state(AFTER).apps


def _rows(apps, specs):
    Merchant = apps.get_model("merchants", "Merchant")
    Profile = apps.get_model("merchants", "Profile")
    PaymentMethod = apps.get_model("tokens", "PaymentMethod")
    merchant = Merchant.objects.create(id="mer_migration000000000", name="M")
    profile = Profile.objects.create(id="pro_migration000000000", merchant=merchant, name="P")
    for index, fields in enumerate(specs):
        PaymentMethod.objects.create(
            id=f"01_pm_{index:032x}",
            merchant=merchant,
            profile=profile,
            storage_type="persistent",
            last4_digits="1111",
            expiry_month="12",
            expiry_year="2035",
            **fields,
        )


def test_stored_leading_digits_are_cut_to_what_the_shortest_number_of_their_network_may_show(old_schema):
    _rows(
        old_schema,
        [
            {"card_isin": "411111", "payment_method_subtype": "credit"},  # Visa: 16 digits at shortest → 4
            {"card_isin": "555555", "payment_method_subtype": "credit"},  # Mastercard: 16 → 4
            {"card_isin": "378282", "payment_method_subtype": "credit"},  # American Express: 15 → 3
            {"card_isin": "501800", "payment_method_subtype": "credit"},  # Maestro: 12 → 2
            {"card_isin": "999999", "payment_method_subtype": "credit"},  # no listed network: 16 → 4
            {"card_isin": "489537", "network_token_isin": "555555", "payment_method_subtype": "credit"},
        ],
    )
    apps = _migrate_forward()
    rows = apps.get_model("tokens", "PaymentMethod").objects.order_by("id")
    assert [row.card_isin for row in rows] == ["4111", "5555", "378", "50", "9999", "4895"]
    assert [row.network_token_isin for row in rows] == [None] * 5 + ["5555"]


def test_cards_stored_without_a_subtype_get_their_card_type_or_credit(old_schema):
    _rows(
        old_schema,
        [
            {"card_isin": "411111", "payment_method_subtype": None, "card_type": "debit"},
            {"card_isin": "411111", "payment_method_subtype": None, "card_type": None},
            {"card_isin": "411111", "payment_method_subtype": "debit", "card_type": "credit"},
        ],
    )
    apps = _migrate_forward()
    rows = apps.get_model("tokens", "PaymentMethod").objects.order_by("id")
    assert [row.payment_method_subtype for row in rows] == ["debit", "credit", "debit"]
