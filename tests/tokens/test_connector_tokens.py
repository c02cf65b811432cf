"""Processors' tokens on a payment method (upstream's `connector_token_details` on update, returned as
`connector_tokens`), and the subtype every listed card carries."""

import pytest

from api.customers.views import CustomerViewSet
from api.payment_methods.views import PaymentMethodViewSet
from audit.models import AuditEvent
from tests.helpers.api import assert_error
from tests.helpers.customers import create_customer
from tests.helpers.payment_methods import CONNECTOR_TOKEN, card_body, card_number, create_payment_method
from tests.helpers.routes import path_for, spellings
from tests.helpers.upstream import assert_matches_upstream
from tokens.models import PaymentMethod
from tokens.services import CONNECTOR_TOKENS_MAX


@pytest.fixture
def customer(api):
    return create_customer(api)


def update(api, pm_id, body, spelling="v2"):
    return api.put(path_for(PaymentMethodViewSet, "update", spelling, "PUT", payment_method_id=pm_id), body)


def saved(api, customer_id, spelling="v2"):
    response = api.get(path_for(CustomerViewSet, "saved_payment_methods", spelling, customer_id=customer_id))
    assert response.status_code == 200, response.content
    return response.json()["customer_payment_methods"]


@pytest.mark.parametrize("spelling", spellings())
def test_a_connector_token_is_stored_and_returned_everywhere(api, customer, spelling):
    pm = create_payment_method(api, customer["id"])
    assert pm["connector_tokens"] is None
    response = update(api, pm["id"], {"connector_token_details": CONNECTOR_TOKEN}, spelling)
    assert response.status_code == 200, response.content
    assert response.json()["connector_tokens"] == [CONNECTOR_TOKEN]
    assert api.get(f"/v2/payment-methods/{pm['id']}").json()["connector_tokens"] == [CONNECTOR_TOKEN]
    (item,) = saved(api, customer["id"], spelling)
    assert item["connector_tokens"] == [CONNECTOR_TOKEN]
    assert PaymentMethod.objects.get(pk=pm["id"]).connector_tokens == [CONNECTOR_TOKEN]


def test_optional_fields_of_a_connector_token_come_back_as_null(api, customer):
    pm = create_payment_method(api, customer["id"])
    minimal = {"connector_id": "mca_1", "token_type": "single_use", "status": "inactive", "token": "tok_1"}
    (stored,) = update(api, pm["id"], {"connector_token_details": minimal}).json()["connector_tokens"]
    assert stored == {
        **minimal,
        "connector_token_request_reference_id": None,
        "original_payment_authorized_amount": None,
        "original_payment_authorized_currency": None,
        "metadata": None,
        "connector_customer_id": None,
    }


def test_a_connectors_new_token_replaces_its_old_one_and_other_connectors_keep_theirs(api, customer):
    pm = create_payment_method(api, customer["id"])
    other = {**CONNECTOR_TOKEN, "connector_id": "mca_other", "token": "tok_other"}
    update(api, pm["id"], {"connector_token_details": CONNECTOR_TOKEN})
    update(api, pm["id"], {"connector_token_details": other})
    renewed = {**CONNECTOR_TOKEN, "token": "pm_renewed", "status": "inactive"}
    tokens = update(api, pm["id"], {"connector_token_details": renewed}).json()["connector_tokens"]
    assert tokens == [other, renewed]


def test_a_payment_method_holds_a_bounded_number_of_connector_tokens(api, customer):
    pm = create_payment_method(api, customer["id"])
    for index in range(CONNECTOR_TOKENS_MAX):
        token = {**CONNECTOR_TOKEN, "connector_id": f"mca_{index}"}
        assert update(api, pm["id"], {"connector_token_details": token}).status_code == 200
    extra = {**CONNECTOR_TOKEN, "connector_id": "mca_one_too_many"}
    assert_error(update(api, pm["id"], {"connector_token_details": extra}), 422, "IR_06")
    # Renewing a connector's token is still possible at the bound.
    renewed = {**CONNECTOR_TOKEN, "connector_id": "mca_0", "token": "pm_renewed"}
    assert update(api, pm["id"], {"connector_token_details": renewed}).status_code == 200
    assert len(PaymentMethod.objects.get(pk=pm["id"]).connector_tokens) == CONNECTOR_TOKENS_MAX


def test_a_connector_token_update_is_audited_without_the_token(api, customer):
    pm = create_payment_method(api, customer["id"])
    update(api, pm["id"], {"connector_token_details": CONNECTOR_TOKEN})
    event = AuditEvent.objects.filter(action="payment_method.update", object_id=pm["id"]).get()
    assert event.details == {"fields": ["connector_tokens"]}
    assert CONNECTOR_TOKEN["token"] not in str(event.details)


def test_a_listed_card_is_recurring_only_while_a_processor_holds_an_active_token(api, customer):
    pm = create_payment_method(api, customer["id"])
    assert saved(api, customer["id"])[0]["recurring_enabled"] is None
    update(api, pm["id"], {"connector_token_details": {**CONNECTOR_TOKEN, "status": "active"}})
    assert saved(api, customer["id"])[0]["recurring_enabled"] is True
    update(api, pm["id"], {"connector_token_details": {**CONNECTOR_TOKEN, "status": "inactive"}})
    assert saved(api, customer["id"])[0]["recurring_enabled"] is None


def test_a_deleted_payment_method_takes_no_connector_token(api, customer):
    pm = create_payment_method(api, customer["id"])
    api.delete(f"/payment_methods/{pm['id']}")
    assert_error(update(api, pm["id"], {"connector_token_details": CONNECTOR_TOKEN}), 422, "IR_06")


def test_another_merchants_payment_method_takes_no_connector_token(api, other_api, customer):
    pm = create_payment_method(api, customer["id"])
    assert_error(update(other_api, pm["id"], {"connector_token_details": CONNECTOR_TOKEN}), 404, "HE_02")
    assert PaymentMethod.objects.get(pk=pm["id"]).connector_tokens is None


# --- the subtype of a listed card -------------------------------------------------------------------


def test_a_card_created_with_a_card_type_and_no_subtype_is_listed_with_that_type(api, customer):
    body = card_body(customer["id"], card_type="debit")
    del body["payment_method_subtype"]
    created = api.post("/v2/payment-methods", body).json()
    assert created["payment_method_subtype"] == "debit"
    assert saved(api, customer["id"])[0]["payment_method_subtype"] == "debit"


def test_the_subtype_given_wins_over_the_card_type(api, customer):
    created = api.post("/v2/payment-methods", card_body(customer["id"], card_type="debit")).json()
    assert created["payment_method_subtype"] == "credit"


def test_a_card_created_with_neither_subtype_nor_card_type_is_refused(api, customer):
    body = card_body(customer["id"])
    del body["payment_method_subtype"]
    response = assert_error(api.post("/v2/payment-methods", body), 400, "IR_04")
    assert response["error"]["fields"] == {"payment_method_subtype": "required"}
    assert PaymentMethod.objects.count() == 0


def test_every_listed_item_carries_a_subtype_upstreams_list_schema_accepts(api, customer):
    for index, subtype in enumerate(["credit", "debit"]):
        api.post(
            "/v2/payment-methods", {**card_body(customer["id"], card_number(index)), "payment_method_subtype": subtype}
        )
    pm = create_payment_method(api, customer["id"], card_number(7), card_type="debit")
    update(api, pm["id"], {"connector_token_details": CONNECTOR_TOKEN})
    items = saved(api, customer["id"])
    assert len(items) == 3
    for item in items:
        assert item["payment_method_subtype"] in ("credit", "debit")
        assert_matches_upstream(item, "PaymentMethodResponseItem")
