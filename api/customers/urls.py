"""Customer routes, each under both spellings (see api/routes.py)."""

from api.customers.views import CustomerViewSet
from api.routes import Route

_item = CustomerViewSet.as_view({"get": "retrieve", "put": "update", "patch": "update", "delete": "destroy"})

# In matching order: upstream's `customers/list`, the reference and the total paths must come before
# the item path would take "list", "reference" or "total…" for an id.
ROUTES = (
    Route(
        "customers",
        CustomerViewSet.as_view({"post": "create"}),
        short="customers",
        upstream="customers",
        short_view=CustomerViewSet.as_view({"get": "list", "post": "create"}),
    ),
    Route("customers-list", CustomerViewSet.as_view({"get": "list"}), upstream="customers/list"),
    Route(
        "customer-by-reference",
        CustomerViewSet.as_view({"get": "retrieve_by_reference"}),
        short="customers/reference/<str:merchant_reference_id>",
        upstream="customers/reference/<str:merchant_reference_id>",
    ),
    Route(
        "total-payment-methods",
        CustomerViewSet.as_view({"get": "total_payment_methods"}),
        short="customers/total_payment_methods",
        upstream="customers/total-payment-methods",
    ),
    Route("customer", _item, short="customers/<str:customer_id>", upstream="customers/<str:customer_id>"),
    Route(
        "customer-saved-payment-methods",
        CustomerViewSet.as_view({"get": "saved_payment_methods"}),
        short="customers/<str:customer_id>/saved_payment_methods",
        upstream="customers/<str:customer_id>/saved-payment-methods",
    ),
    Route(
        "customer-default-payment-method",
        CustomerViewSet.as_view({"post": "set_default_payment_method"}),
        short="customers/<str:customer_id>/payment_methods/<str:payment_method_id>/default",
        upstream="customers/<str:customer_id>/payment-methods/<str:payment_method_id>/default",
    ),
)
