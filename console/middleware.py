"""Console-only response headers."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class ConsoleReferrerPolicyMiddleware:
    """Let the console's own pages send their origin on form posts.

    The vault's `no-referrer` policy makes browsers send `Origin: null` with every form post, which
    Django's CSRF check rightly refuses. Console pages use `same-origin`: the origin goes to the
    console itself and still to no other site. API responses keep `no-referrer`.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.prefix = f"/{settings.VAULT_ADMIN_PATH}"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith(self.prefix):
            response.headers["Referrer-Policy"] = "same-origin"
        return response
