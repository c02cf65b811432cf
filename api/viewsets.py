"""The base of every vault viewset: the caller and the audit actor, taken from the request."""

from rest_framework.viewsets import ViewSet

from api.authentication import ApiPrincipal
from audit.actors import Actor
from core import errors
from core.client_address import client_address

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _is_json(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


class VaultViewSet(ViewSet):
    # action name → scope; an action missing here is refused (see api.permissions.HasScope).
    required_scopes: dict[str, str] = {}

    def initial(self, request, *args, **kwargs):
        # A method the route does not offer is 405 for everyone, before keys and scopes are checked.
        if request.method.lower() not in self.action_map:
            raise errors.MethodNotAllowed()
        # DRF skips parsing an empty body, and with it the content-type check.
        if request.method in BODY_METHODS and request.content_type and not _is_json(request.content_type):
            raise errors.UnsupportedMediaType()
        super().initial(request, *args, **kwargs)
        # The one place a request's tenant is set: actions hand this merchant to every selector and
        # service they call, and those read only its rows (objects.for_merchant, core/tenancy.py).
        self.merchant = self.principal.merchant

    @property
    def allowed_methods(self) -> list[str]:
        return [method.upper() for method in self.action_map]

    @property
    def principal(self) -> ApiPrincipal:
        return self.request.user

    @property
    def actor(self) -> Actor:
        principal = self.principal
        return Actor(
            kind="api_key",
            id=principal.api_key.key_id,
            merchant_id=principal.merchant.id,
            request_id=getattr(self.request, "request_id", ""),
            origin=client_address(self.request),
        )
