"""One API operation, two spellings: the product's short path and upstream's `/{prefix}/…` path.

Each resource lists its operations once as Routes; the root URLconf mounts them under the short
spelling and under every configured upstream prefix (VAULT_API_PREFIXES).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.urls import URLPattern, path


@dataclass(frozen=True, slots=True)
class Route:
    name: str  # the URL name; upstream spellings are named `<prefix>-<name>`
    view: Callable
    short: str | None = None  # the short path, or None where the product has no short spelling
    upstream: str | None = None  # the path below `<prefix>/`, or None where upstream has none
    short_view: Callable | None = None  # where the short path answers more methods than upstream's
    only_prefix: str | None = None  # where upstream mounts the route under one version only (`v2`)


def short_patterns(routes: Iterable[Route]) -> list[URLPattern]:
    return [path(route.short, route.short_view or route.view, name=route.name) for route in routes if route.short]


def prefixed_patterns(routes: Iterable[Route], prefix: str) -> list[URLPattern]:
    return [
        path(f"{prefix}/{route.upstream}", route.view, name=f"{prefix}-{route.name}")
        for route in routes
        if route.upstream and route.only_prefix in (None, prefix)
    ]
