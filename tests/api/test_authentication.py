"""Authentication, tenancy and scopes on every customers route, in every spelling."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.actors import Actor
from customers.models import Customer
from merchants import scopes
from merchants.services import api_key_revoke
from tests.helpers.api import VaultClient, assert_error
from tests.helpers.customers import CUSTOMER_BODY, create_customer
from tests.helpers.state import stored_counts
from tests.helpers.tenants import issue_key
from tests.routes import WRITE_OPERATIONS, all_customer_routes

ROUTES = all_customer_routes()
ROUTE_IDS = [f"{method} {path}" for _, _, method, path in ROUTES]
UNKNOWN_ID = "01_cus_0190000000007000800000000000dead"


@pytest.fixture
def customer(api):
    return create_customer(api, merchant_reference_id="owned")


def body_for(operation):
    return CUSTOMER_BODY if operation in ("create", "update", "update_patch") else None


def run(client, method, path, customer_id, operation):
    return client.request(method, path.format(id=customer_id), body_for(operation))


def bad_key_clients(tenant):
    revoked = issue_key(tenant)
    api_key_revoke(actor=Actor(kind="operator", id="t"), api_key=tenant.merchant.api_keys.order_by("-id").first())
    expired = issue_key(tenant, expires_in=timedelta(seconds=1))
    tenant.merchant.api_keys.filter(expires_at__isnull=False).update(expires_at=timezone.now() - timedelta(seconds=1))
    profile = tenant.profile.id
    return {
        "no key": VaultClient(None, profile),
        "unknown key": VaultClient("vlt_aaaaaaaaaaaaaaaa_" + "A" * 43, profile),
        "malformed key": VaultClient("not-a-key", profile),
        "tampered key": VaultClient(tenant.key[:-1] + ("A" if tenant.key[-1] != "A" else "B"), profile),
        "revoked key": VaultClient(revoked, profile),
        "expired key": VaultClient(expired, profile),
        "v1 header, revoked": VaultClient(revoked, profile, header_style="api-key"),
    }


@pytest.mark.parametrize(("spelling", "operation", "method", "path"), ROUTES, ids=ROUTE_IDS)
def test_bad_keys_get_one_identical_401(tenant, customer, spelling, operation, method, path):
    clients = bad_key_clients(tenant)
    before = stored_counts()
    bodies = []
    for client in clients.values():
        response = run(client, method, path, customer["id"], operation)
        bodies.append(assert_error(response, 401, "IR_01"))
    assert all(body == bodies[0] for body in bodies)
    assert stored_counts() == before


@pytest.mark.parametrize(("spelling", "operation", "method", "path"), ROUTES, ids=ROUTE_IDS)
@pytest.mark.parametrize(
    "profile_header", [None, "", "pro_short", "pro_" + "a" * 21, "PRO_" + "a" * 20, "pro_" + "é" * 20]
)
def test_missing_or_malformed_profile_is_422(tenant, customer, spelling, operation, method, path, profile_header):
    client = VaultClient(tenant.key, None)
    headers = {} if profile_header is None else {"X-Profile-Id": profile_header}
    before = stored_counts()
    response = client.request(method, path.format(id=customer["id"]), body_for(operation), headers=headers)
    assert_error(response, 422, "IR_06")
    assert stored_counts() == before


@pytest.mark.parametrize(("spelling", "operation", "method", "path"), ROUTES, ids=ROUTE_IDS)
def test_another_merchants_profile_is_401(tenant, other_tenant, customer, spelling, operation, method, path):
    client = VaultClient(tenant.key, other_tenant.profile.id)
    unknown_profile = VaultClient(tenant.key, "pro_" + "Z" * 20)
    before = stored_counts()
    first = assert_error(run(client, method, path, customer["id"], operation), 401, "IR_01")
    second = assert_error(run(unknown_profile, method, path, customer["id"], operation), 401, "IR_01")
    assert first == second
    assert stored_counts() == before


ITEM_ROUTES = [route for route in ROUTES if "{id}" in route[3]]


@pytest.mark.parametrize(
    ("spelling", "operation", "method", "path"), ITEM_ROUTES, ids=[f"{r[2]} {r[3]}" for r in ITEM_ROUTES]
)
def test_another_merchants_customer_is_404_like_an_unknown_id(
    api, other_api, customer, spelling, operation, method, path
):
    before_row = Customer.objects.values().get(id=customer["id"])
    before = stored_counts()
    foreign = assert_error(run(other_api, method, path, customer["id"], operation), 404, "HE_02")
    unknown = assert_error(run(other_api, method, path, UNKNOWN_ID, operation), 404, "HE_02")
    assert foreign == unknown
    assert Customer.objects.values().get(id=customer["id"]) == before_row
    assert stored_counts() == before


@pytest.mark.parametrize(("spelling", "operation", "method", "path"), ROUTES, ids=ROUTE_IDS)
def test_key_without_the_scope_is_403(tenant, customer, spelling, operation, method, path):
    needed = scopes.CUSTOMERS_WRITE if operation in WRITE_OPERATIONS else scopes.CUSTOMERS_READ
    others = [scope for scope in scopes.ALL_SCOPES if scope != needed]
    client = VaultClient(issue_key(tenant, key_scopes=others), tenant.profile.id)
    before = stored_counts()
    assert_error(run(client, method, path, customer["id"], operation), 403, "IR_22")
    assert stored_counts() == before


def test_read_only_key_reads_but_cannot_write(tenant, customer):
    client = VaultClient(issue_key(tenant, key_scopes=[scopes.CUSTOMERS_READ]), tenant.profile.id)
    assert client.get(f"/customers/{customer['id']}").status_code == 200
    assert_error(client.post("/customers", CUSTOMER_BODY), 403, "IR_22")


def test_both_header_forms_are_accepted(tenant):
    for style in ("authorization", "api-key"):
        client = VaultClient(tenant.key, tenant.profile.id, header_style=style)
        assert client.post("/customers", CUSTOMER_BODY).status_code == 200


def test_authorization_header_may_carry_other_parts(tenant):
    client = VaultClient(None, tenant.profile.id)
    response = client.post("/customers", CUSTOMER_BODY, headers={"Authorization": f"other=1, api-key={tenant.key}"})
    assert response.status_code == 200


def test_two_different_keys_in_one_request_are_400(tenant):
    second = issue_key(tenant)
    client = VaultClient(tenant.key, tenant.profile.id)
    before = stored_counts()
    assert_error(client.post("/customers", CUSTOMER_BODY, headers={"api-key": second}), 400, "IR_06")
    assert stored_counts() == before


def test_the_same_key_in_both_headers_is_fine(tenant):
    client = VaultClient(tenant.key, tenant.profile.id)
    assert client.post("/customers", CUSTOMER_BODY, headers={"api-key": tenant.key}).status_code == 200


def test_a_key_in_the_query_string_is_ignored(tenant):
    client = VaultClient(None, tenant.profile.id)
    assert_error(client.get(f"/customers?api-key={tenant.key}"), 401, "IR_01")


def test_revocation_takes_effect_on_the_next_request(tenant, api):
    assert api.get("/customers").status_code == 200
    api_key_revoke(actor=Actor(kind="operator", id="t"), api_key=tenant.api_key)
    assert_error(api.get("/customers"), 401, "IR_01")


def test_401_names_the_scheme(api):
    response = VaultClient(None, None).get("/customers")
    assert response["WWW-Authenticate"] == "api-key"
