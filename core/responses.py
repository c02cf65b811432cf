"""Render a VaultError as an HTTP response outside DRF (middleware and Django's error views)."""

from django.http import JsonResponse

from core.errors import VaultError


def error_response(error: VaultError) -> JsonResponse:
    # Compact, as DRF renders: one JSON style for every answer.
    return JsonResponse(error.body(), status=error.status_code, json_dumps_params={"separators": (",", ":")})
