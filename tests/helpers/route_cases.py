"""Checks every API route must pass, written once and run on each route the registry finds.

In the manner of NetBox's `APIViewTestCases`: a test class names a viewset and inherits the cases it
wants; each case runs once per route of that viewset (every method, every spelling). The cases:

- bad or missing keys are one identical 401 IR_01; a missing or malformed profile is 422 IR_06;
  another merchant's profile is 401 like an unknown one;
- a key without the route's scope is 403 IR_22;
- another merchant's customer or payment-method id is 404 HE_02, exactly like an unknown id, while
  the owner's own request gets past all of these;
- a malformed id is 400 IR_06 and not echoed; a path that walks out of the route is 404 IR_02;
- hostile credentials (doubled, truncated, in the query string, SQL, NUL) are refused.

Every refusal leaves the stored rows as they were.
"""

from datetime import timedelta
from typing import ClassVar

import pytest
from django.utils import timezone

from api.viewsets import VaultViewSet
from merchants import scopes
from merchants.keys import parse_key_id
from merchants.models import ApiKey
from merchants.services import api_key_revoke
from tests.helpers.api import VaultClient, assert_error
from tests.helpers.payment_methods import VISA
from tests.helpers.route_requests import UNKNOWN_IDS, Ids, call, own_objects
from tests.helpers.routes import MERCHANT_REFERENCE_ID, Route, routes_of
from tests.helpers.state import stored_rows
from tests.helpers.tenants import TEST_ACTOR, Tenant, issue_key


def on_routes(select):
    """Run the decorated case only on the routes *select* accepts (by default: every route)."""

    def mark(case):
        case.route_filter = select
        return case

    return mark


def takes_an_id(route: Route) -> bool:
    return route.takes_id


class RouteCases:
    viewset: ClassVar[type[VaultViewSet]]

    def pytest_generate_tests(self, metafunc):
        if "route" in metafunc.fixturenames:
            select = getattr(metafunc.function, "route_filter", lambda route: True)
            routes = [route for route in routes_of(self.viewset) if select(route)]
            # An empty list would turn the case into a silent skip.
            assert routes, f"no route of {self.viewset.__name__} for {metafunc.function.__name__}"
            metafunc.parametrize("route", routes, ids=str)

    @pytest.fixture
    def owned(self, api) -> Ids:
        return own_objects(api)


# --- Authentication ---------------------------------------------------------------------------------


def _expire(key: str, at) -> str:
    ApiKey.objects.filter(key_id=parse_key_id(key)).update(expires_at=at)
    return key


def bad_key_clients(tenant: Tenant) -> dict[str, VaultClient]:
    """Clients whose key must not authenticate, by what is wrong with it."""
    revoked = issue_key(tenant)
    api_key_revoke(actor=TEST_ACTOR, api_key=ApiKey.objects.get(key_id=parse_key_id(revoked)))
    expired = _expire(issue_key(tenant, expires_in=timedelta(hours=1)), timezone.now() - timedelta(seconds=1))
    expiring_now = _expire(issue_key(tenant, expires_in=timedelta(hours=1)), timezone.now())
    profile = tenant.profile.id
    return {
        "no key": VaultClient(None, profile),
        "unknown key": VaultClient("vlt_aaaaaaaaaaaaaaaa_" + "A" * 43, profile),
        "another unknown key": VaultClient("vlt_" + "a" * 16 + "_" + "B" * 43, profile),
        "malformed key": VaultClient("not-a-key", profile),
        "tampered key": VaultClient(tenant.key[:-1] + ("A" if tenant.key[-1] != "A" else "B"), profile),
        "revoked key": VaultClient(revoked, profile),
        "expired key": VaultClient(expired, profile),
        "key expiring now": VaultClient(expiring_now, profile),
        "revoked key in the v1 header": VaultClient(revoked, profile, header_style="api-key"),
    }


MALFORMED_PROFILES = {
    "no profile header": None,
    "empty": "",
    "too short": "pro_short",
    "too short, other letters": "pro_bad",
    "too long": "pro_" + "a" * 21,
    "upper-case prefix": "PRO_" + "a" * 20,
    "non-ASCII": "pro_" + "é" * 20,
}


class AuthenticationCases(RouteCases):
    def test_bad_keys_get_one_identical_401(self, route, tenant, owned):
        clients = bad_key_clients(tenant)
        before = stored_rows()
        bodies = {name: assert_error(call(client, route, owned), 401, "IR_01") for name, client in clients.items()}
        assert all(body == bodies["no key"] for body in bodies.values()), bodies
        assert stored_rows() == before

    def test_a_401_names_the_scheme(self, route, owned):
        response = call(VaultClient(None, None), route, owned)
        assert_error(response, 401, "IR_01")
        assert response["WWW-Authenticate"] == "api-key"

    def test_a_missing_or_malformed_profile_is_422(self, route, tenant, owned):
        before = stored_rows()
        for case, profile in MALFORMED_PROFILES.items():
            headers = {} if profile is None else {"X-Profile-Id": profile}
            response = call(VaultClient(tenant.key, None), route, owned, headers=headers)
            assert response.status_code == 422, case
            assert_error(response, 422, "IR_06")
        assert stored_rows() == before

    def test_another_merchants_profile_is_401_like_an_unknown_one(self, route, tenant, other_tenant, owned):
        before = stored_rows()
        foreign = assert_error(call(VaultClient(tenant.key, other_tenant.profile.id), route, owned), 401, "IR_01")
        unknown = assert_error(call(VaultClient(tenant.key, "pro_" + "Z" * 20), route, owned), 401, "IR_01")
        assert foreign == unknown
        assert stored_rows() == before


# --- Scopes -----------------------------------------------------------------------------------------


class ScopeCases(RouteCases):
    def test_a_key_without_the_routes_scope_is_403(self, route, tenant, owned):
        assert route.scope in scopes.ALL_SCOPES
        others = [scope for scope in scopes.ALL_SCOPES if scope != route.scope]
        client = VaultClient(issue_key(tenant, key_scopes=others), tenant.profile.id)
        before = stored_rows()
        assert_error(call(client, route, owned), 403, "IR_22")
        assert stored_rows() == before


# --- Tenancy ----------------------------------------------------------------------------------------

# What a refusal by authentication, scope, tenancy or a malformed request is answered with.
REFUSALS = {"IR_01", "IR_06", "IR_22", "HE_02"}


class TenancyCases(RouteCases):
    def test_the_owner_gets_past_every_check(self, route, tenant, owned):
        """The control for the refusals: with every scope, the owner's request is not refused."""
        client = VaultClient(issue_key(tenant, key_scopes=list(scopes.ALL_SCOPES)), tenant.profile.id)
        response = call(client, route, owned)
        if response.status_code >= 400:
            assert response.json()["error"]["code"] not in REFUSALS, response.content

    @on_routes(takes_an_id)
    def test_another_merchants_ids_are_404_like_unknown_ones(self, route, other_api, owned):
        before = stored_rows()
        foreign = assert_error(call(other_api, route, owned), 404, "HE_02")
        unknown = assert_error(call(other_api, route, UNKNOWN_IDS), 404, "HE_02")
        assert foreign == unknown
        assert stored_rows() == before


# --- Ids in the path --------------------------------------------------------------------------------

MALFORMED_IDS = {
    "SQL": "' OR '1'='1",
    "NUL": "01_cus_%00aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "short NUL": "01_pm_%00",
    "too long": "01_cus_" + "a" * 80,
    "no cell": "a" * 80,
    "dots": "..",
    "card number": VISA,
    "grouped card number": "4242-4242-4242-4242",
}
# Malformed as a vault id, though a merchant's reference may look like that.
MALFORMED_GLOBAL_IDS = {"three-character cell": "001_cus_0190000000007000800000000000dead"}
MALFORMED_REFERENCES = {"space": "a%20b", "65 characters": "r" * 65, "plus": "a+b"}


def malformed_ids(route: Route) -> dict[str, str]:
    extra = MALFORMED_REFERENCES if MERCHANT_REFERENCE_ID in route.parameters else MALFORMED_GLOBAL_IDS
    return {**MALFORMED_IDS, **extra}


class PathIdCases(RouteCases):
    @on_routes(takes_an_id)
    def test_a_malformed_id_is_400_and_not_echoed(self, route, api, owned):
        before = stored_rows()
        for case, malformed in malformed_ids(route).items():
            response = call(api, route, owned, path_ids=dict.fromkeys(route.parameters, malformed))
            assert response.status_code == 400, case
            assert_error(response, 400, "IR_06")
            assert malformed not in response.content.decode(), case
        assert stored_rows() == before

    @on_routes(takes_an_id)
    def test_a_traversal_in_the_id_is_an_unknown_route(self, route, api, owned):
        before = stored_rows()
        response = call(api, route, owned, path_ids=dict.fromkeys(route.parameters, "..%2f..%2fetc%2fpasswd"))
        assert_error(response, 404, "IR_02")
        assert stored_rows() == before


# --- Hostile credentials ----------------------------------------------------------------------------


def hostile_credentials(tenant: Tenant) -> list[tuple[str, dict[str, str], int, str]]:
    """(case, every auth header sent, expected status, expected code)."""
    key, profile = tenant.key, tenant.profile.id
    return [
        ("key in the query string only", {"X-Profile-Id": profile}, 401, "IR_01"),
        ("Bearer instead of api-key", {"Authorization": f"Bearer {key}", "X-Profile-Id": profile}, 401, "IR_01"),
        ("empty api-key part", {"Authorization": "api-key=", "X-Profile-Id": profile}, 401, "IR_01"),
        ("doubled key header", {"api-key": f"{key},{key}", "X-Profile-Id": profile}, 400, "IR_06"),
        ("two key headers joined", {"api-key": f"{key}, vlt_other", "X-Profile-Id": profile}, 400, "IR_06"),
        ("key with trailing junk", {"api-key": key + "x", "X-Profile-Id": profile}, 401, "IR_01"),
        ("truncated key", {"api-key": key[:-1], "X-Profile-Id": profile}, 401, "IR_01"),
        ("SQL as the key", {"api-key": "' OR '1'='1", "X-Profile-Id": profile}, 401, "IR_01"),
        (
            "two different keys",
            {"api-key": key, "Authorization": "api-key=vlt_other", "X-Profile-Id": profile},
            400,
            "IR_06",
        ),
        ("doubled profile header", {"api-key": key, "X-Profile-Id": f"{profile},{profile}"}, 422, "IR_06"),
        ("SQL as the profile", {"api-key": key, "X-Profile-Id": "pro_' OR 1=1 --aaaaaaaa"}, 422, "IR_06"),
        ("NUL in the profile", {"api-key": key, "X-Profile-Id": profile[:-1] + "\x00"}, 422, "IR_06"),
    ]


class HostileCredentialCases(RouteCases):
    def test_hostile_credentials_are_refused_and_the_key_not_echoed(self, route, tenant, owned):
        # The real key rides along in the query string, where it must be ignored.
        query = f"api-key={tenant.key}&api_key={tenant.key}"
        before = stored_rows()
        for case, headers, status, code in hostile_credentials(tenant):
            response = call(VaultClient(None, None), route, owned, headers=headers, query=query)
            body = assert_error(response, status, code)
            assert tenant.key not in response.content.decode(), case
            assert body["error"]["message"], case
        assert stored_rows() == before


class AllRouteCases(AuthenticationCases, ScopeCases, TenancyCases, PathIdCases, HostileCredentialCases):
    """Every case above, for a viewset whose routes should pass them all."""
