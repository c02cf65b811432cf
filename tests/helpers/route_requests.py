"""Call a registry route as its owner would: ids filled in, a valid body and query where it takes one.

A check that expects a refusal sends the request its owner gets past every check with (see
test_the_owner_gets_past_every_check), so the refusal can only come from what the check changed:
the key, the profile, the merchant or the id.
"""

from dataclasses import dataclass

from api.customers.views import CustomerViewSet
from api.payment_methods.views import PaymentMethodViewSet
from api.proxy.views import ProxyViewSet
from api.tokenization.views import GenericTokenViewSet
from tests.helpers.customers import CUSTOMER_BODY, create_customer
from tests.helpers.payment_methods import card_body, create_payment_method
from tests.helpers.routes import CUSTOMER_ID, MERCHANT_REFERENCE_ID, PAYMENT_METHOD_ID, TOKEN_ID, Route

OWNED_REFERENCE = "owned"


@dataclass(frozen=True)
class Ids:
    customer_id: str
    payment_method_id: str
    token_id: str
    merchant_reference_id: str = OWNED_REFERENCE

    def by_parameter(self) -> dict[str, str]:
        return {
            CUSTOMER_ID: self.customer_id,
            PAYMENT_METHOD_ID: self.payment_method_id,
            MERCHANT_REFERENCE_ID: self.merchant_reference_id,
            TOKEN_ID: self.token_id,
        }


# Well-formed ids that no merchant holds.
UNKNOWN_IDS = Ids(
    customer_id="01_cus_0190000000007000800000000000dead",
    payment_method_id="01_pm_0190000000007000800000000000beef",
    token_id="01_tok_0190000000007000800000000000f00d",
    merchant_reference_id="nobody-holds-this-reference",
)

_BODIES = {
    (CustomerViewSet, "create"): lambda ids: CUSTOMER_BODY,
    (CustomerViewSet, "update"): lambda ids: CUSTOMER_BODY,
    (PaymentMethodViewSet, "create"): lambda ids: card_body(ids.customer_id),
    (PaymentMethodViewSet, "update"): lambda ids: {"network_transaction_id": "x"},
    # Upstream sends get-token's body on a GET too.
    (PaymentMethodViewSet, "get_token"): lambda ids: {"token_type": "network_token"},
    # A destination on no allowlist: the owner's request gets past every check to the allowlist's 403.
    (GenericTokenViewSet, "create"): lambda ids: {"customer_id": ids.customer_id, "token_request": {"iban": "x"}},
    (GenericTokenViewSet, "destroy"): lambda ids: {"customer_id": ids.customer_id},
    (ProxyViewSet, "forward"): lambda ids: {
        "destination_url": "https://processor.invalid/v1/payments",
        "method": "POST",
        "headers": {"Content-Type": "application/json"},
        "request_body": {"number": "{{$card_number}}"},
        "token": ids.payment_method_id,
        "token_type": "PaymentMethodId",
    },
}
_QUERIES = {
    (PaymentMethodViewSet, "network_token_eligibility"): "card_bin=424242",
}


def own_objects(api) -> Ids:
    """A customer with one payment method and one generic token, created by *api*'s merchant."""
    customer = create_customer(api, merchant_reference_id=OWNED_REFERENCE)
    token = api.post("/v2/tokenize", {"customer_id": customer["id"], "token_request": {"iban": "x"}})
    assert token.status_code == 200, token.content
    return Ids(
        customer_id=customer["id"],
        payment_method_id=create_payment_method(api, customer["id"])["id"],
        token_id=token.json()["id"],
    )


def valid_body(route: Route, ids: Ids) -> dict | None:
    build = _BODIES.get((route.viewset, route.action))
    return build(ids) if build else None


def call(client, route: Route, ids: Ids, *, path_ids: dict[str, str] | None = None, headers=None, query: str = ""):
    """Send *route*'s request through *client*; *path_ids* replaces ids in the path only, not in the body."""
    path = route.path(**{**ids.by_parameter(), **(path_ids or {})})
    query = "&".join(part for part in (_QUERIES.get((route.viewset, route.action), ""), query) if part)
    return client.request(route.method, f"{path}?{query}" if query else path, valid_body(route, ids), headers=headers)
