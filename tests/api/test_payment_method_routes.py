"""Authentication, tenancy and scopes on every payment-method route, in every spelling."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.actors import Actor
from merchants import scopes
from merchants.services import api_key_revoke
from tests.helpers.api import VaultClient, assert_error
from tests.helpers.customers import create_customer
from tests.helpers.payment_methods import card_body, create_payment_method
from tests.helpers.tenants import issue_key
from tokens.models import PaymentMethod

UNKNOWN_PM = "01_pm_0190000000007000800000000000beef"


def routes() -> list[tuple[str, str, str, str, bool]]:
    """(label, method, path template, scope needed, sends a body); {pm} and {customer} are filled in."""
    table = []
    for create, item, update, saved in (
        ("/payment_methods", "/payment_methods/{pm}", "/payment_methods/{pm}/update_saved_payment_method",
         "/customers/{customer}/saved_payment_methods"),
        ("/v1/payment-methods", "/v1/payment-methods/{pm}", "/v1/payment-methods/{pm}/update-saved-payment-method",
         "/v1/customers/{customer}/saved-payment-methods"),
        ("/v2/payment-methods", "/v2/payment-methods/{pm}", "/v2/payment-methods/{pm}/update-saved-payment-method",
         "/v2/customers/{customer}/saved-payment-methods"),
    ):  # fmt: skip
        table += [
            ("create", "POST", create, scopes.PAYMENT_METHODS_WRITE, True),
            ("retrieve", "GET", item, scopes.PAYMENT_METHODS_READ, False),
            ("update", "PUT", update, scopes.PAYMENT_METHODS_WRITE, True),
            ("update", "PATCH", update, scopes.PAYMENT_METHODS_WRITE, True),
            ("delete", "DELETE", item, scopes.PAYMENT_METHODS_WRITE, False),
            ("saved list", "GET", saved, scopes.PAYMENT_METHODS_READ, False),
        ]
    table.append(("retrieve by POST", "POST", "/payment_methods/{pm}", scopes.PAYMENT_METHODS_READ, False))
    return table


ROUTES = routes()
IDS = [f"{method} {path}" for _, method, path, _, _ in ROUTES]


@pytest.fixture
def owned(api):
    customer = create_customer(api)
    return {"customer": customer["id"], "pm": create_payment_method(api, customer["id"])["id"]}


def call(client, label, method, path, owned, with_body, pm=None, customer=None):
    target = path.format(pm=pm or owned["pm"], customer=customer or owned["customer"])
    body = None
    if with_body:
        body = card_body(customer or owned["customer"]) if label == "create" else {"network_transaction_id": "x"}
    return client.request(method, target, body)


def snapshot():
    return list(PaymentMethod.objects.order_by("id").values())


@pytest.mark.parametrize(("label", "method", "path", "scope", "with_body"), ROUTES, ids=IDS)
def test_bad_keys_get_one_identical_401(tenant, owned, label, method, path, scope, with_body):
    revoked = issue_key(tenant)
    api_key_revoke(actor=Actor(kind="operator", id="t"), api_key=tenant.merchant.api_keys.order_by("-id").first())
    expired = issue_key(tenant, expires_in=timedelta(hours=1))
    tenant.merchant.api_keys.filter(expires_at__isnull=False).update(expires_at=timezone.now())
    before = snapshot()
    bodies = {
        name: assert_error(
            call(VaultClient(key, tenant.profile.id), label, method, path, owned, with_body), 401, "IR_01"
        )
        for name, key in {
            "none": None,
            "unknown": "vlt_" + "a" * 16 + "_" + "B" * 43,
            "revoked": revoked,
            "expired": expired,
        }.items()
    }
    assert len({str(body) for body in bodies.values()}) == 1
    assert snapshot() == before


@pytest.mark.parametrize(("label", "method", "path", "scope", "with_body"), ROUTES, ids=IDS)
def test_profile_header_is_checked(tenant, other_tenant, owned, label, method, path, scope, with_body):
    before = snapshot()
    for header, status in ((None, 422), ("pro_bad", 422), (other_tenant.profile.id, 401)):
        client = VaultClient(tenant.key, header)
        assert_error(call(client, label, method, path, owned, with_body), status, "IR_06" if status == 422 else "IR_01")
    assert snapshot() == before


ITEM_ROUTES = [route for route in ROUTES if "{pm}" in route[2] or "{customer}" in route[2]]


@pytest.mark.parametrize(
    ("label", "method", "path", "scope", "with_body"), ITEM_ROUTES, ids=[f"{r[1]} {r[2]}" for r in ITEM_ROUTES]
)
def test_another_merchants_objects_are_404_like_unknown_ids(other_api, owned, label, method, path, scope, with_body):
    before = snapshot()
    unknown_customer = "01_cus_0190000000007000800000000000dead"
    foreign = assert_error(call(other_api, label, method, path, owned, with_body), 404, "HE_02")
    unknown = assert_error(
        call(other_api, label, method, path, owned, with_body, pm=UNKNOWN_PM, customer=unknown_customer), 404, "HE_02"
    )
    assert foreign == unknown
    assert snapshot() == before


def test_another_merchants_customer_in_a_create_is_404(other_api, owned):
    assert_error(other_api.post("/v2/payment-methods", card_body(owned["customer"])), 404, "HE_02")
    assert PaymentMethod.objects.count() == 1


@pytest.mark.parametrize(("label", "method", "path", "scope", "with_body"), ROUTES, ids=IDS)
def test_a_key_without_the_scope_is_403(tenant, owned, label, method, path, scope, with_body):
    client = VaultClient(issue_key(tenant, key_scopes=[s for s in scopes.ALL_SCOPES if s != scope]), tenant.profile.id)
    before = snapshot()
    assert_error(call(client, label, method, path, owned, with_body), 403, "IR_22")
    assert snapshot() == before


def test_reveal_is_refused_without_the_reveal_scope_even_with_all_others(tenant, owned):
    client = VaultClient(issue_key(tenant, key_scopes=list(scopes.DEFAULT_SCOPES)), tenant.profile.id)
    assert_error(client.get(f"/payment_methods/{owned['pm']}?fetch_raw_detail=true"), 403, "IR_22")
    assert_error(client.post(f"/payment_methods/{owned['pm']}", {"fetch_raw_detail": True}), 403, "IR_22")
