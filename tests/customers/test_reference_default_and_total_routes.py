"""Upstream's three further customer routes: retrieve by reference, set the default payment method,
count the merchant's payment methods. The checks every route passes (keys, scopes, tenancy, malformed
ids) run on them through tests/api/test_customer_routes.py."""

from datetime import timedelta

import pytest
from django.utils import timezone

from api.customers.views import CustomerViewSet
from audit.models import AuditEvent
from core.card_numbers import luhn_complete
from customers.models import Customer
from tests.helpers.api import assert_error
from tests.helpers.customers import create_customer
from tests.helpers.payment_methods import card_body, card_number, create_payment_method
from tests.helpers.routes import path_for, spellings
from tests.helpers.upstream import assert_matches_upstream
from tokens.models import PaymentMethod
from tokens.selectors import payment_methods_count


def by_reference(api, reference, spelling="v2"):
    return api.get(path_for(CustomerViewSet, "retrieve_by_reference", spelling, merchant_reference_id=reference))


def set_default(api, customer_id, payment_method_id, spelling="v2", body=None):
    path = path_for(
        CustomerViewSet,
        "set_default_payment_method",
        spelling,
        customer_id=customer_id,
        payment_method_id=payment_method_id,
    )
    return api.post(path, body)


def total(api, spelling="v2", query=""):
    return api.get(path_for(CustomerViewSet, "total_payment_methods", spelling) + query)


# --- retrieve by reference --------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", spellings())
def test_a_customer_is_found_by_its_reference(api, spelling):
    customer = create_customer(api, merchant_reference_id=f"customer_{luhn_complete('173321234567')}")
    create_customer(api, merchant_reference_id="someone-else")
    response = by_reference(api, customer["merchant_reference_id"], spelling)
    assert response.status_code == 200, response.content
    assert response.json() == customer
    assert_matches_upstream(response.json(), "CustomerResponse")


def test_an_unknown_or_another_merchants_reference_is_404(api, other_api):
    create_customer(other_api, merchant_reference_id="theirs")
    assert_error(by_reference(api, "theirs"), 404, "HE_02")
    assert_error(by_reference(api, "nobody"), 404, "HE_02")


def test_a_redacted_customers_reference_names_nobody_until_it_is_taken_again(api):
    first = create_customer(api, merchant_reference_id="reused")
    api.delete(f"/customers/{first['id']}")
    assert_error(by_reference(api, "reused"), 404, "HE_02")
    second = create_customer(api, merchant_reference_id="reused")
    assert by_reference(api, "reused").json()["id"] == second["id"]


@pytest.mark.parametrize("reference", ["4242424242424242", "4242-4242-4242-4242", "a%20b", "x" * 65])
def test_a_reference_that_is_malformed_or_a_card_number_is_400_and_not_echoed(api, reference):
    body = assert_error(by_reference(api, reference), 400, "IR_06")
    assert reference not in str(body)


# --- set the default payment method -----------------------------------------------------------------


@pytest.fixture
def customer(api):
    return create_customer(api)


@pytest.mark.parametrize("spelling", spellings())
def test_a_customers_payment_method_becomes_its_default(api, customer, spelling):
    first = create_payment_method(api, customer["id"], card_number(1))
    second = create_payment_method(api, customer["id"], card_number(2), card_type="debit")
    response = set_default(api, customer["id"], second["id"], spelling)
    assert response.status_code == 200, response.content
    assert response.json() == {
        "default_payment_method_id": second["id"],
        "customer_id": customer["id"],
        "payment_method_type": "card",
        "payment_method_subtype": "credit",
    }
    assert_matches_upstream(response.json(), "CustomerDefaultPaymentMethodResponse")
    assert api.get(f"/customers/{customer['id']}").json()["default_payment_method_id"] == second["id"]
    listed = api.get(f"/customers/{customer['id']}/saved_payment_methods").json()["customer_payment_methods"]
    assert {item["id"]: item["is_default"] for item in listed} == {first["id"]: False, second["id"]: True}
    # Moving the default to another card is allowed; naming the default again is not.
    assert set_default(api, customer["id"], first["id"], spelling).status_code == 200


def test_setting_the_default_is_audited_in_the_same_act(api, customer):
    payment_method = create_payment_method(api, customer["id"])
    set_default(api, customer["id"], payment_method["id"])
    event = AuditEvent.objects.filter(action="customer.update", object_id=customer["id"]).get()
    assert event.details == {"fields": ["default_payment_method_id"]}
    assert event.outcome == "success"


def test_the_default_again_is_400_ir_16(api, customer):
    payment_method = create_payment_method(api, customer["id"])
    set_default(api, customer["id"], payment_method["id"])
    body = assert_error(set_default(api, customer["id"], payment_method["id"]), 400, "IR_16")
    assert body["error"]["message"] == "Payment Method is already set as default"


def test_another_customers_payment_method_is_400_ir_16(api, customer):
    theirs = create_payment_method(api, create_customer(api)["id"])
    body = assert_error(set_default(api, customer["id"], theirs["id"]), 400, "IR_16")
    assert body["error"]["message"] == "The payment_method_id is not valid"
    assert Customer.objects.get(pk=customer["id"]).default_payment_method_id is None


@pytest.mark.parametrize("how", ["acknowledged as failed", "deleted"])
def test_a_payment_method_that_is_not_active_is_400_ir_16(api, customer, how):
    payment_method = create_payment_method(api, customer["id"])
    if how == "deleted":
        api.delete(f"/payment_methods/{payment_method['id']}")
    else:
        api.patch(
            f"/payment_methods/{payment_method['id']}/update_saved_payment_method",
            {"acknowledgement_status": "failed"},
        )
    body = assert_error(set_default(api, customer["id"], payment_method["id"]), 400, "IR_16")
    assert body["error"]["message"] == "The payment_method is not active"


def test_another_merchants_payment_method_is_404_like_a_missing_one(api, other_api, customer):
    theirs = create_payment_method(other_api, create_customer(other_api)["id"])
    foreign = assert_error(set_default(api, customer["id"], theirs["id"]), 404, "HE_02")
    missing = assert_error(set_default(api, customer["id"], "01_pm_0190000000007000800000000000beef"), 404, "HE_02")
    assert foreign == missing


def test_a_redacted_customer_takes_no_default(api, customer):
    payment_method = create_payment_method(api, customer["id"])
    api.delete(f"/customers/{customer['id']}")
    assert_error(set_default(api, customer["id"], payment_method["id"]), 400, "IR_11")


def test_set_default_takes_no_body_fields(api, customer):
    payment_method = create_payment_method(api, customer["id"])
    assert_error(set_default(api, customer["id"], payment_method["id"], body={"force": True}), 400, "IR_06")
    assert set_default(api, customer["id"], payment_method["id"], body={}).status_code == 200


# --- total payment methods --------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", spellings())
def test_the_total_counts_the_merchants_active_payment_methods_only(api, other_api, customer, spelling):
    assert total(api, spelling).json() == {"total_count": 0}
    kept = [create_payment_method(api, customer["id"], card_number(index)) for index in range(3)]
    other_customer = create_customer(api)
    create_payment_method(api, other_customer["id"], card_number(9))
    deleted = create_payment_method(api, customer["id"], card_number(4))
    api.delete(f"/payment_methods/{deleted['id']}")
    failed = create_payment_method(api, customer["id"], card_number(5))
    api.patch(f"/payment_methods/{failed['id']}/update_saved_payment_method", {"acknowledgement_status": "failed"})
    volatile = api.post("/payment_methods", card_body(None, card_number(6), storage_type="volatile")).json()
    PaymentMethod.objects.filter(pk=volatile["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    create_payment_method(other_api, create_customer(other_api)["id"], card_number(7))
    response = total(api, spelling)
    assert response.status_code == 200, response.content
    assert response.json() == {"total_count": len(kept) + 1}


def test_the_total_is_one_count_query(tenant, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert payment_methods_count(merchant=tenant.merchant) == 0


def test_the_total_takes_no_query_parameters(api):
    assert_error(total(api, query="?customer_id=x"), 400, "IR_06")


def test_a_retried_set_default_with_its_idempotency_key_gets_the_first_answer(api, customer):
    first = create_payment_method(api, customer["id"], card_number(1))
    second = create_payment_method(api, customer["id"], card_number(2))
    key = {"Idempotency-Key": "set-default-1"}
    path = f"/v2/customers/{customer['id']}/payment-methods/{first['id']}/default"
    answered = api.post(path, None, headers=key)
    assert answered.status_code == 200, answered.content
    retried = api.post(path.replace("/v2/", "/v1/"), None, headers=key)
    assert (retried.status_code, retried.content) == (200, answered.content)
    # The same key on another payment method is another request, refused as a reused key.
    other = f"/customers/{customer['id']}/payment_methods/{second['id']}/default"
    assert_error(api.post(other, None, headers=key), 422, "IR_06")
    assert Customer.objects.get(pk=customer["id"]).default_payment_method_id == first["id"]
