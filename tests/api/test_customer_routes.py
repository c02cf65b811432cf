"""Every customers route, in every spelling, through the route cases: keys, profiles, scopes, tenancy, ids."""

from api.customers.views import CustomerViewSet
from tests.helpers.route_cases import AllRouteCases


class TestCustomerRoutes(AllRouteCases):
    viewset = CustomerViewSet
