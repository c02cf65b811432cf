"""Customer routes under both spellings: the product's short routes and upstream's `/{prefix}/…`."""

from django.urls import path

from api.customers.views import CustomerViewSet

_collection_short = CustomerViewSet.as_view({"get": "list", "post": "create"})
_create = CustomerViewSet.as_view({"post": "create"})
_list = CustomerViewSet.as_view({"get": "list"})
_item = CustomerViewSet.as_view({"get": "retrieve", "put": "update", "patch": "update", "delete": "destroy"})
_saved = CustomerViewSet.as_view({"get": "saved_payment_methods"})


def short_routes() -> list:
    return [
        path("customers", _collection_short, name="customers"),
        path("customers/<str:customer_id>", _item, name="customer"),
        path("customers/<str:customer_id>/saved_payment_methods", _saved, name="customer-saved-payment-methods"),
    ]


def prefixed_routes(prefix: str) -> list:
    return [
        path(f"{prefix}/customers", _create, name=f"{prefix}-customers"),
        path(f"{prefix}/customers/list", _list, name=f"{prefix}-customers-list"),
        path(f"{prefix}/customers/<str:customer_id>", _item, name=f"{prefix}-customer"),
        path(
            f"{prefix}/customers/<str:customer_id>/saved-payment-methods",
            _saved,
            name=f"{prefix}-customer-saved-payment-methods",
        ),
    ]
