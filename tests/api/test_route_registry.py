"""The route registry the route cases walk: complete, in every spelling, each action with its scope."""

from collections import defaultdict

from django.conf import settings

from api.customers.views import CustomerViewSet
from api.payment_methods.views import PaymentMethodViewSet
from api.proxy.views import ProxyViewSet
from api.tokenization.views import GenericTokenViewSet
from merchants import scopes
from tests.helpers.route_requests import own_objects
from tests.helpers.routes import ID_PARAMETERS, SHORT, api_routes, route_for, spellings, url_templates

# The scope each action needs. The registry reads scopes from the viewsets; this table keeps a
# change of an action's scope from passing unnoticed.
SCOPES = {
    (CustomerViewSet, "create"): scopes.CUSTOMERS_WRITE,
    (CustomerViewSet, "list"): scopes.CUSTOMERS_READ,
    (CustomerViewSet, "retrieve"): scopes.CUSTOMERS_READ,
    (CustomerViewSet, "update"): scopes.CUSTOMERS_WRITE,
    (CustomerViewSet, "destroy"): scopes.CUSTOMERS_WRITE,
    (CustomerViewSet, "saved_payment_methods"): scopes.PAYMENT_METHODS_READ,
    (CustomerViewSet, "retrieve_by_reference"): scopes.CUSTOMERS_READ,
    (CustomerViewSet, "set_default_payment_method"): scopes.CUSTOMERS_WRITE,
    (CustomerViewSet, "total_payment_methods"): scopes.PAYMENT_METHODS_READ,
    (PaymentMethodViewSet, "create"): scopes.PAYMENT_METHODS_WRITE,
    (PaymentMethodViewSet, "retrieve"): scopes.PAYMENT_METHODS_READ,
    (PaymentMethodViewSet, "update"): scopes.PAYMENT_METHODS_WRITE,
    (PaymentMethodViewSet, "destroy"): scopes.PAYMENT_METHODS_WRITE,
    (PaymentMethodViewSet, "network_token_status"): scopes.PAYMENT_METHODS_READ,
    (PaymentMethodViewSet, "get_token"): scopes.PAYMENT_METHODS_READ,
    (PaymentMethodViewSet, "network_token_eligibility"): scopes.PAYMENT_METHODS_READ,
    (ProxyViewSet, "forward"): scopes.PAYMENT_METHODS_PROXY,
    (GenericTokenViewSet, "create"): scopes.PAYMENT_METHODS_WRITE,
    (GenericTokenViewSet, "destroy"): scopes.PAYMENT_METHODS_WRITE,
}
# Upstream mounts generic tokenization under /v2 only; everything else under every prefix.
UPSTREAM_V2_ONLY = {GenericTokenViewSet}
# URLs outside the API key scheme: the console, the public documents and probes, the signed webhook.
# /metrics answers its own bearer token, not an API key: tests/operations/test_metrics.py.
NOT_API_ROUTES = {"/openapi.json", "/health", "/health/ready", "/docs", "/metrics", "/webhooks/token_service"}


def test_the_registry_holds_every_viewset_in_every_spelling():
    routes = api_routes()
    assert routes
    # The route cases run per viewset (tests/api/test_*_routes.py): a new viewset needs a class there.
    assert {route.viewset for route in routes} == {
        CustomerViewSet,
        PaymentMethodViewSet,
        ProxyViewSet,
        GenericTokenViewSet,
    }
    assert set(spellings()) == {SHORT, *settings.VAULT_API_PREFIXES} and len(spellings()) >= 2
    found = defaultdict(set)
    for route in routes:
        found[(route.viewset, route.action)].add(route.spelling)
    for (viewset, action), spelled in found.items():
        expected = {SHORT, "v2"} & set(spellings()) if viewset in UPSTREAM_V2_ONLY else set(spellings())
        assert spelled == expected, (viewset.__name__, action, spelled)


def test_every_action_needs_its_scope():
    declared = {(route.viewset, route.action): route.scope for route in api_routes()}
    assert declared == SCOPES


def test_every_id_in_a_path_is_a_customer_payment_method_token_or_reference_id():
    # The route cases fill these in (tests/helpers/route_requests.py); a new kind needs a value there.
    for route in api_routes():
        assert set(route.parameters) <= set(ID_PARAMETERS), route
        assert len(route.parameters) == len(set(route.parameters)), route
    two_ids = {route.action for route in api_routes() if len(route.parameters) == 2}
    assert two_ids == {"set_default_payment_method"}


def test_every_url_is_an_api_route_or_a_known_public_one():
    api_templates = {route.template for route in api_routes()}
    admin = f"/{settings.VAULT_ADMIN_PATH}"
    others = {
        template for template, _ in url_templates() if template not in api_templates and not template.startswith(admin)
    }
    assert others == NOT_API_ROUTES


def test_the_registry_knows_upstreams_spellings(api):
    # Spot checks against the upstream API reference, so a registry that misreads the URLconf fails.
    assert route_for(CustomerViewSet, "list", "v2").template == "/v2/customers/list"
    assert route_for(CustomerViewSet, "list", SHORT).template == "/customers"
    assert route_for(PaymentMethodViewSet, "update", "v1", "PATCH").template == (
        "/v1/payment-methods/{payment_method_id}/update-saved-payment-method"
    )
    assert route_for(PaymentMethodViewSet, "retrieve", SHORT, "POST").template == "/payment_methods/{payment_method_id}"
    ids = own_objects(api)
    saved = route_for(CustomerViewSet, "saved_payment_methods", "v2")
    assert saved.path(customer_id=ids.customer_id) == f"/v2/customers/{ids.customer_id}/saved-payment-methods"
    assert api.get(saved.path(customer_id=ids.customer_id)).status_code == 200
    assert route_for(CustomerViewSet, "retrieve_by_reference", "v2").template == (
        "/v2/customers/reference/{merchant_reference_id}"
    )
    assert route_for(CustomerViewSet, "total_payment_methods", "v1").template == "/v1/customers/total-payment-methods"
    assert route_for(CustomerViewSet, "set_default_payment_method", "v2").template == (
        "/v2/customers/{customer_id}/payment-methods/{payment_method_id}/default"
    )
    assert route_for(CustomerViewSet, "set_default_payment_method", SHORT).template == (
        "/customers/{customer_id}/payment_methods/{payment_method_id}/default"
    )
