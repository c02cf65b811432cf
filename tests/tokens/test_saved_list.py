"""A customer's saved payment methods: one query when the page holds a card (the customer comes
joined to it), and the customer's errors when it does not."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api.customers.views import CustomerViewSet
from core.ids import new_global_id
from tests.helpers.api import assert_error
from tests.helpers.customers import create_customer
from tests.helpers.payment_methods import card_number, create_payment_method
from tests.helpers.routes import path_for


@pytest.fixture
def customer(api):
    return create_customer(api)


def page(api, customer_id: str, query: str = "") -> tuple[list[dict], list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = api.get(f"/customers/{customer_id}/saved_payment_methods{query}")
    assert response.status_code == 200, response.content
    statements = [q["sql"] for q in queries.captured_queries if "merchants_ratelimitcounter" not in q["sql"]]
    return response.json()["customer_payment_methods"], statements


def test_a_page_of_cards_is_one_query_with_the_customer_joined(api, customer):
    created = [create_payment_method(api, customer["id"], card_number(index)) for index in range(3)]
    default = path_for(
        CustomerViewSet, "set_default_payment_method", "v2",
        customer_id=customer["id"], payment_method_id=created[1]["id"],
    )  # fmt: skip
    assert api.post(default).status_code == 200
    listed, statements = page(api, customer["id"])
    assert [item["id"] for item in listed] == sorted((item["id"] for item in created), reverse=True)
    assert {item["id"]: item["is_default"] for item in listed}[created[1]["id"]] is True
    assert len(statements) == 1 and '"customers_customer"' in statements[0]
    second, _ = page(api, customer["id"], "?offset=1&limit=1")
    assert [item["id"] for item in second] == [listed[1]["id"]]


def test_an_empty_page_looks_at_the_customer(api, customer, other_api):
    listed, statements = page(api, customer["id"])
    assert listed == [] and len(statements) == 2
    unknown = new_global_id("cus")
    assert_error(api.get(f"/customers/{unknown}/saved_payment_methods"), 404, "HE_02")
    assert_error(api.get("/customers/not-an-id/saved_payment_methods"), 400, "IR_06")
    # Another merchant's customer does not exist here, cards or not.
    create_payment_method(api, customer["id"], card_number(5))
    assert_error(other_api.get(f"/customers/{customer['id']}/saved_payment_methods"), 404, "HE_02")


@pytest.mark.parametrize("had_cards", [True, False])
def test_a_redacted_customer_is_refused_whether_or_not_it_had_cards(api, customer, had_cards):
    if had_cards:
        create_payment_method(api, customer["id"], card_number(6))
    assert api.delete(f"/customers/{customer['id']}").status_code == 200
    assert_error(api.get(f"/customers/{customer['id']}/saved_payment_methods"), 400, "IR_11")
