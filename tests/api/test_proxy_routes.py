"""The proxy route, in every spelling, through the route cases that apply to a route without ids.
Cross-merchant cases, which need an allowlisted destination, are in tests/proxy/test_proxy.py."""

from api.proxy.views import ProxyViewSet
from merchants import scopes
from tests.helpers.api import VaultClient, assert_error
from tests.helpers.route_cases import AuthenticationCases, HostileCredentialCases, ScopeCases
from tests.helpers.route_requests import call
from tests.helpers.tenants import issue_key


class TestProxyRoutes(AuthenticationCases, ScopeCases, HostileCredentialCases):
    viewset = ProxyViewSet

    def test_the_owner_gets_past_every_check_to_the_allowlist(self, route, tenant, owned):
        client = VaultClient(issue_key(tenant, key_scopes=list(scopes.ALL_SCOPES)), tenant.profile.id)
        assert_error(call(client, route, owned), 403, "IR_40")
