"""Payment-method routes under both spellings: the product's short routes and upstream's `/{prefix}/…`."""

from django.urls import path

from tokens.views import PaymentMethodViewSet

_create = PaymentMethodViewSet.as_view({"post": "create"})
_update = PaymentMethodViewSet.as_view({"put": "update", "patch": "update"})


def short_routes() -> list:
    item = PaymentMethodViewSet.as_view({"get": "retrieve", "post": "retrieve", "delete": "destroy"})
    return [
        path("payment_methods", _create, name="payment-methods"),
        path("payment_methods/<str:payment_method_id>", item, name="payment-method"),
        path(
            "payment_methods/<str:payment_method_id>/update_saved_payment_method", _update, name="payment-method-update"
        ),
    ]


def prefixed_routes(prefix: str) -> list:
    item = PaymentMethodViewSet.as_view({"get": "retrieve", "delete": "destroy"})
    return [
        path(f"{prefix}/payment-methods", _create, name=f"{prefix}-payment-methods"),
        path(f"{prefix}/payment-methods/<str:payment_method_id>", item, name=f"{prefix}-payment-method"),
        path(
            f"{prefix}/payment-methods/<str:payment_method_id>/update-saved-payment-method",
            _update,
            name=f"{prefix}-payment-method-update",
        ),
    ]
