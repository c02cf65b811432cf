"""Every generic-tokenization route, in every spelling it has, through the route cases."""

from api.tokenization.views import GenericTokenViewSet
from tests.helpers.route_cases import AllRouteCases


class TestGenericTokenRoutes(AllRouteCases):
    viewset = GenericTokenViewSet
