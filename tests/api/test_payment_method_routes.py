"""Every payment-method route, in every spelling, through the route cases; and the reveal scope."""

from api.payment_methods.views import PaymentMethodViewSet
from audit.models import AuditEvent
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


def test_raw_data_is_withheld_without_the_reveal_scope_even_with_all_others(tenant, api):
    # As upstream answers a merchant not configured for raw data: 200, `raw_payment_method_data: null`.
    payment_method = create_payment_method(api, create_customer(api)["id"])
    client = VaultClient(issue_key(tenant, key_scopes=list(scopes.DEFAULT_SCOPES)), tenant.profile.id)
    for response in (
        client.get(f"/payment_methods/{payment_method['id']}?fetch_raw_detail=true"),
        client.get(f"/v2/payment-methods/{payment_method['id']}?fetch_raw_detail=true"),
        client.post(f"/payment_methods/{payment_method['id']}", {"fetch_raw_detail": True}),
    ):
        assert response.status_code == 200, response.content
        assert response.json() == payment_method
        assert response.json()["raw_payment_method_data"] is None
    denied = AuditEvent.objects.filter(action="payment_method.reveal", object_id=payment_method["id"])
    assert [event.outcome for event in denied] == ["denied"] * 3
