"""Input serializers build their fields once per class and process, bound to no request's data."""

import gc

from api.customers.serializers import CustomerCreateSerializer, CustomerUpdateSerializer
from api.payment_methods.serializers import PaymentMethodCreateSerializer
from tests.helpers.payment_methods import VISA, card_body


def test_the_fields_are_shared_and_keep_no_values():
    first = PaymentMethodCreateSerializer(data=card_body("01_cus_0190000000007000800000000000dead"))
    assert first.is_valid(), first.errors
    second = PaymentMethodCreateSerializer(data=card_body(None, "5555555555554444", storage_type="volatile"))
    assert second.is_valid(), second.errors
    assert first.fields is second.fields
    assert second.validated_data["payment_method_data"]["card"]["card_number"].last4 == "4444"
    # No object reachable from the shared fields holds the card number of a request.
    del first, second
    gc.collect()
    shared = PaymentMethodCreateSerializer(data={}).fields
    assert VISA not in repr(shared) and all(
        getattr(field.root, "initial_data", None) is None for field in shared.values()
    )


def test_partial_and_complete_validation_do_not_share_fields():
    address = {"city": "Lisbon"}
    update = CustomerUpdateSerializer(data={"default_billing_address": address})
    assert update.is_valid(), update.errors  # every field optional on update
    create = CustomerCreateSerializer(data={"name": "Ada", "default_billing_address": address})
    assert not create.is_valid() and set(create.errors) == {"email"}  # required on create
    assert create.fields is not update.fields
    update_again = CustomerUpdateSerializer(data={"default_billing_address": {"city": 7}})
    assert not update_again.is_valid() and "default_billing_address" in update_again.errors
    assert CustomerUpdateSerializer(data={"name": "Grace"}).is_valid()
