"""Customer routes, each under both spellings (see api/routes.py)."""

from api.customers.views import CustomerViewSet
from api.routes import Route

_item = CustomerViewSet.as_view({"get": "retrieve", "put": "update", "patch": "update", "delete": "destroy"})

# In matching order: upstream's `customers/list` must come before the item path would take "list" for an id.
ROUTES = (
    Route(
        "customers",
        CustomerViewSet.as_view({"post": "create"}),
        short="customers",
        upstream="customers",
        short_view=CustomerViewSet.as_view({"get": "list", "post": "create"}),
    ),
    Route("customers-list", CustomerViewSet.as_view({"get": "list"}), upstream="customers/list"),
    Route("customer", _item, short="customers/<str:customer_id>", upstream="customers/<str:customer_id>"),
    Route(
        "customer-saved-payment-methods",
        CustomerViewSet.as_view({"get": "saved_payment_methods"}),
        short="customers/<str:customer_id>/saved_payment_methods",
        upstream="customers/<str:customer_id>/saved-payment-methods",
    ),
)
