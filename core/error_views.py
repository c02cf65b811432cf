"""Django's error views, answering in the JSON envelope instead of HTML."""

from django.http import HttpRequest, JsonResponse

from core import errors
from core.responses import error_response


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(errors.InvalidRequest())


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(errors.ScopeMissing())


def route_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(errors.RouteNotFound())


def server_error(request: HttpRequest) -> JsonResponse:
    return error_response(errors.InternalError())
