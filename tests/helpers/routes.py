"""Every API route, read from the URLconf rather than written out by hand.

A route is one method on one URL pattern served by a vault viewset: its action, the scope that
action needs (the viewset's `required_scopes`), its path template and its spelling (the product's
short routes, or an upstream prefix such as `v2`). Tests walk this registry, so a route added to the
URLconf is checked by them without a test being edited.
"""

from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.regex_helper import normalize

from api.viewsets import VaultViewSet

SHORT = "short"
CUSTOMER_ID = "customer_id"
PAYMENT_METHOD_ID = "payment_method_id"
MERCHANT_REFERENCE_ID = "merchant_reference_id"  # the merchant's own reference of a customer
TOKEN_ID = "token_id"  # a generic token's
ID_PARAMETERS = (CUSTOMER_ID, PAYMENT_METHOD_ID, MERCHANT_REFERENCE_ID, TOKEN_ID)


@dataclass(frozen=True)
class Route:
    viewset: type[VaultViewSet]
    action: str
    method: str
    template: str  # "/v2/customers/{customer_id}"
    parameters: tuple[str, ...]
    spelling: str

    @property
    def scope(self) -> str | None:
        return self.viewset.required_scopes.get(self.action)

    @property
    def takes_id(self) -> bool:
        return bool(self.parameters)

    def path(self, **ids: str) -> str:
        return self.template.format(**{name: ids[name] for name in self.parameters})

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


def spellings() -> tuple[str, ...]:
    return (SHORT, *settings.VAULT_API_PREFIXES)


def _spelling(template: str) -> str:
    first = template.lstrip("/").split("/", 1)[0]
    return first if first in settings.VAULT_API_PREFIXES else SHORT


def _walk(patterns, prefix: str = ""):
    """Yield (path template, URL pattern) for every pattern, with included URLconfs walked."""
    for pattern in patterns:
        # normalize() turns a pattern's regex into "customers/%(customer_id)s" and its parameter names;
        # of the forms an optional group gives, the last is the fullest.
        fragment, parameters = normalize(pattern.pattern.regex.pattern)[-1]
        template = prefix + fragment % {name: f"{{{name}}}" for name in parameters}
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, template)
        elif isinstance(pattern, URLPattern):
            yield "/" + template, pattern


def url_templates() -> list[tuple[str, URLPattern]]:
    """Every URL the project serves, API or not, as (path template, URL pattern)."""
    return list(_walk(get_resolver().url_patterns))


def _parameters(template: str) -> tuple[str, ...]:
    return tuple(part[1:-1] for part in template.split("/") if part.startswith("{") and part.endswith("}"))


@cache
def api_routes() -> tuple[Route, ...]:
    """One Route per method of every URL pattern a vault viewset serves."""
    routes = []
    for template, pattern in url_templates():
        viewset = getattr(pattern.callback, "cls", None)
        actions = getattr(pattern.callback, "actions", None)
        if not (isinstance(viewset, type) and issubclass(viewset, VaultViewSet) and actions):
            continue
        for method, action in actions.items():
            if method == "head":
                continue  # DRF adds HEAD to a GET route's actions once the route has served a request
            routes.append(
                Route(
                    viewset=viewset,
                    action=action,
                    method=method.upper(),
                    template=template,
                    parameters=_parameters(template),
                    spelling=_spelling(template),
                )
            )
    return tuple(routes)


def routes_of(viewset: type[VaultViewSet]) -> tuple[Route, ...]:
    return tuple(route for route in api_routes() if route.viewset is viewset)


def route_for(viewset: type[VaultViewSet], action: str, spelling: str, method: str | None = None) -> Route:
    """The one route of *viewset* serving *action* under *spelling* (and *method*, when given)."""
    matches = [
        route
        for route in routes_of(viewset)
        if route.action == action and route.spelling == spelling and method in (None, route.method)
    ]
    assert len(matches) == 1, (viewset.__name__, action, spelling, method, matches)
    return matches[0]


def path_for(viewset: type[VaultViewSet], action: str, spelling: str, method: str | None = None, **ids: str) -> str:
    """The path of *viewset*'s *action* under *spelling*, with *ids* filled in."""
    return route_for(viewset, action, spelling, method).path(**ids)
