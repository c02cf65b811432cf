"""Routes: the vault API under its short spelling and each configured upstream prefix, plus docs."""

from django.conf import settings
from django.urls import path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView

from customers import urls as customer_urls
from tokens import urls as payment_method_urls

urlpatterns = [
    path(
        "openapi.json", SpectacularJSONAPIView.as_view(authentication_classes=[], permission_classes=[]), name="openapi"
    ),
    path(
        "docs",
        SpectacularSwaggerView.as_view(url_name="openapi", authentication_classes=[], permission_classes=[]),
        name="docs",
    ),
    *customer_urls.short_routes(),
    *payment_method_urls.short_routes(),
]
for _prefix in settings.VAULT_API_PREFIXES:
    urlpatterns += customer_urls.prefixed_routes(_prefix) + payment_method_urls.prefixed_routes(_prefix)

handler400 = "vault_project.api.views.bad_request"
handler403 = "vault_project.api.views.permission_denied"
handler404 = "vault_project.api.views.route_not_found"
handler500 = "vault_project.api.views.server_error"
