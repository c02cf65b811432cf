"""for_merchant(): a merchant's rows and nothing else, and never "all rows" by mistake."""

import pytest

from customers.models import Customer
from tests.helpers.customers import create_customer
from tests.helpers.payment_methods import create_payment_method
from tokens.models import PaymentMethod


def test_for_merchant_returns_only_that_merchants_rows(api, other_api, tenant, other_tenant):
    mine = create_customer(api)
    theirs = create_customer(other_api)
    create_payment_method(api, mine["id"])
    create_payment_method(other_api, theirs["id"])

    assert list(Customer.objects.for_merchant(tenant.merchant).values_list("id", flat=True)) == [mine["id"]]
    assert list(Customer.objects.for_merchant(other_tenant.merchant.id).values_list("id", flat=True)) == [theirs["id"]]
    assert {pm.customer_id for pm in PaymentMethod.objects.for_merchant(tenant.merchant)} == {mine["id"]}
    assert Customer.unscoped.count() == 2 and PaymentMethod.unscoped.count() == 2


@pytest.mark.parametrize("missing", [None, "", 0])
def test_for_merchant_without_a_merchant_is_an_error_not_every_row(db, missing):
    with pytest.raises(ValueError, match="needs a merchant"):
        Customer.objects.for_merchant(missing)
    with pytest.raises(ValueError, match="needs a merchant"):
        PaymentMethod.objects.for_merchant(missing)
