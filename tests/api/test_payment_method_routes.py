"""Every payment-method route, in every spelling, through the route cases; and the reveal scope."""

from api.payment_methods.views import PaymentMethodViewSet
from merchants import scopes
from tests.helpers.api import VaultClient, assert_error
from tests.helpers.customers import create_customer
from tests.helpers.payment_methods import card_body, create_payment_method
from tests.helpers.route_cases import AllRouteCases
from tests.helpers.tenants import issue_key
from tokens.models import PaymentMethod


class TestPaymentMethodRoutes(AllRouteCases):
    viewset = PaymentMethodViewSet


def test_another_merchants_customer_in_a_create_is_404(api, other_api):
    customer = create_customer(api)
    create_payment_method(api, customer["id"])
    assert_error(other_api.post("/v2/payment-methods", card_body(customer["id"])), 404, "HE_02")
    assert PaymentMethod.objects.count() == 1


def test_reveal_is_refused_without_the_reveal_scope_even_with_all_others(tenant, api):
    payment_method = create_payment_method(api, create_customer(api)["id"])
    client = VaultClient(issue_key(tenant, key_scopes=list(scopes.DEFAULT_SCOPES)), tenant.profile.id)
    assert_error(client.get(f"/payment_methods/{payment_method['id']}?fetch_raw_detail=true"), 403, "IR_22")
    assert_error(client.post(f"/payment_methods/{payment_method['id']}", {"fetch_raw_detail": True}), 403, "IR_22")
