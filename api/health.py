"""Health endpoints for the production server and its orchestrator.

`/health` is liveness: the process answers. `/health/ready` is readiness: the database answers and
the keyring seals and opens a probe value, else 503 with which check failed.
"""

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from core import errors
from core.responses import error_response
from tokens import crypto

_PROBE = crypto.CardSecret(number="0" * 16)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except DatabaseError:
        return False


def _keyring_ok() -> bool:
    try:
        sealed = crypto.seal(_PROBE, merchant_id="health", record_id="probe")
        return crypto.open_sealed(sealed.value, merchant_id="health", record_id="probe") == _PROBE
    except Exception:
        return False


@csrf_exempt  # no session, nothing changed: a POST is answered 405 like on the API
def live(request: HttpRequest) -> JsonResponse:
    if request.method not in ("GET", "HEAD"):
        return error_response(errors.MethodNotAllowed())
    return JsonResponse({"status": "ok"})


@csrf_exempt
def ready(request: HttpRequest) -> JsonResponse:
    if request.method not in ("GET", "HEAD"):
        return error_response(errors.MethodNotAllowed())
    checks = {"database": _database_ok(), "keyring": _keyring_ok()}
    if all(checks.values()):
        return JsonResponse({"status": "ready", "checks": checks})
    return JsonResponse(
        {"error": {"type": "api", "code": "HE_00", "message": "Not ready"}, "checks": checks}, status=503
    )
