"""Routes: the vault API under its short spelling and each configured upstream prefix, plus docs."""

import functools

from django.conf import settings
from django.urls import path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView

from api import health, metrics
from api.customers import urls as customer_urls
from api.payment_methods import urls as payment_method_urls
from api.proxy import urls as proxy_urls
from api.routes import prefixed_patterns, short_patterns
from api.tokenization import urls as tokenization_urls
from console.site import vault_admin
from core import errors
from core.responses import error_response


def read_only(view):
    """Serve *view* for GET and HEAD; any other method is 405 in the envelope, as on the API routes."""

    @functools.wraps(view)  # keeps DRF's csrf_exempt: these routes use no session
    def wrapped(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return error_response(errors.MethodNotAllowed())
        return view(request, *args, **kwargs)

    return wrapped


_API_ROUTES = (*customer_urls.ROUTES, *payment_method_urls.ROUTES, *proxy_urls.ROUTES, *tokenization_urls.ROUTES)
_public = {"authentication_classes": [], "permission_classes": []}
urlpatterns = [
    path(settings.VAULT_ADMIN_PATH, vault_admin.urls),
    path("openapi.json", read_only(SpectacularJSONAPIView.as_view(**_public)), name="openapi"),
    path("health", health.live, name="health"),
    path("health/ready", health.ready, name="health-ready"),
    path("metrics", metrics.metrics, name="metrics"),
    path("docs", read_only(SpectacularSwaggerView.as_view(url_name="openapi", **_public)), name="docs"),
    *short_patterns(_API_ROUTES),
]
for _prefix in settings.VAULT_API_PREFIXES:
    urlpatterns += prefixed_patterns(_API_ROUTES, _prefix)

handler400 = "core.error_views.bad_request"
handler403 = "core.error_views.permission_denied"
handler404 = "core.error_views.route_not_found"
handler500 = "core.error_views.server_error"
