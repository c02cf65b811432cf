"""Payment-method routes under both spellings: the product's short routes and upstream's `/{prefix}/…`."""

from django.urls import path

from api.payment_methods.views import PaymentMethodViewSet
from api.payment_methods.webhooks import TokenServiceWebhookView

_create = PaymentMethodViewSet.as_view({"post": "create"})
_update = PaymentMethodViewSet.as_view({"put": "update", "patch": "update"})
_status = PaymentMethodViewSet.as_view({"get": "network_token_status"})
# Upstream reads get-token's JSON body from a GET; the product documents POST. Both are accepted.
_get_token = PaymentMethodViewSet.as_view({"get": "get_token", "post": "get_token"})
_eligibility = PaymentMethodViewSet.as_view({"get": "network_token_eligibility"})


def short_routes() -> list:
    item = PaymentMethodViewSet.as_view({"get": "retrieve", "post": "retrieve", "delete": "destroy"})
    return [
        path("payment_methods", _create, name="payment-methods"),
        # Before the item route, which would take the word for an id.
        path("payment_methods/network_token_eligibility", _eligibility, name="network-token-eligibility"),
        path("payment_methods/<str:payment_method_id>", item, name="payment-method"),
        path(
            "payment_methods/<str:payment_method_id>/update_saved_payment_method", _update, name="payment-method-update"
        ),
        path(
            "payment_methods/<str:payment_method_id>/check_network_token_status", _status, name="network-token-status"
        ),
        path("payment_methods/<str:payment_method_id>/get_token", _get_token, name="network-token-get"),
        path("webhooks/token_service", TokenServiceWebhookView.as_view(), name="token-service-webhook"),
    ]


def prefixed_routes(prefix: str) -> list:
    item = PaymentMethodViewSet.as_view({"get": "retrieve", "delete": "destroy"})
    base = f"{prefix}/payment-methods"
    return [
        path(base, _create, name=f"{prefix}-payment-methods"),
        path(f"{base}/get-network-token-eligibility", _eligibility, name=f"{prefix}-network-token-eligibility"),
        path(f"{base}/<str:payment_method_id>", item, name=f"{prefix}-payment-method"),
        path(
            f"{base}/<str:payment_method_id>/update-saved-payment-method",
            _update,
            name=f"{prefix}-payment-method-update",
        ),
        path(
            f"{base}/<str:payment_method_id>/check-network-token-status",
            _status,
            name=f"{prefix}-network-token-status",
        ),
        path(f"{base}/<str:payment_method_id>/get-token", _get_token, name=f"{prefix}-network-token-get"),
    ]
