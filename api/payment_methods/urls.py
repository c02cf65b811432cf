"""Payment-method routes, each under both spellings (see api/routes.py), and the token-service webhook."""

from api.payment_methods.views import PaymentMethodViewSet
from api.payment_methods.webhooks import TokenServiceWebhookView
from api.routes import Route

_ITEM = "payment_methods/<str:payment_method_id>"
_UPSTREAM_ITEM = "payment-methods/<str:payment_method_id>"

# In matching order: the eligibility path must come before the item path would take it for an id.
ROUTES = (
    Route(
        "payment-methods",
        PaymentMethodViewSet.as_view({"post": "create"}),
        short="payment_methods",
        upstream="payment-methods",
    ),
    Route(
        "network-token-eligibility",
        PaymentMethodViewSet.as_view({"get": "network_token_eligibility"}),
        short="payment_methods/network_token_eligibility",
        upstream="payment-methods/get-network-token-eligibility",
    ),
    Route(
        "payment-method",
        PaymentMethodViewSet.as_view({"get": "retrieve", "delete": "destroy"}),
        short=_ITEM,
        upstream=_UPSTREAM_ITEM,
        # The product also answers a retrieve by POST, with its options in a JSON body.
        short_view=PaymentMethodViewSet.as_view({"get": "retrieve", "post": "retrieve", "delete": "destroy"}),
    ),
    Route(
        "payment-method-update",
        PaymentMethodViewSet.as_view({"put": "update", "patch": "update"}),
        short=f"{_ITEM}/update_saved_payment_method",
        upstream=f"{_UPSTREAM_ITEM}/update-saved-payment-method",
    ),
    Route(
        "network-token-status",
        PaymentMethodViewSet.as_view({"get": "network_token_status"}),
        short=f"{_ITEM}/check_network_token_status",
        upstream=f"{_UPSTREAM_ITEM}/check-network-token-status",
    ),
    Route(
        "network-token-get",
        # Upstream reads get-token's JSON body from a GET; the product documents POST. Both are accepted.
        PaymentMethodViewSet.as_view({"get": "get_token", "post": "get_token"}),
        short=f"{_ITEM}/get_token",
        upstream=f"{_UPSTREAM_ITEM}/get-token",
    ),
    Route("token-service-webhook", TokenServiceWebhookView.as_view(), short="webhooks/token_service"),
)
