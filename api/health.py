"""Health endpoints for the production server and its orchestrator.

`/health` is liveness: the process answers. `/health/ready` is readiness: the database answers, the
keyring seals and opens a probe value (at most once every KEYRING_PROBE_SECONDS: anyone may call
readiness, and it must not cost an encryption each time), and, when REDIS_URL is set, Redis answers;
else 503 with which check failed. An unreachable Redis fails readiness only under the `deny` policy
(VAULT_RATE_LIMIT_ON_STORE_ERROR): with `allow` the vault serves without it, and says so.
"""

import time

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from core import errors
from core.responses import error_response
from merchants.rate_limits import rate_store_reachable
from tokens import crypto
from tokens.rotation import kek_versions_missing

_PROBE = crypto.CardSecret(number="0" * 16)
KEYRING_PROBE_SECONDS = 5.0
# The last probe: when, of which keyring configuration, and its result.
_keyring_probe: dict[str, object] = {"at": float("-inf"), "of": None, "ok": False}


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except DatabaseError:
        return False


_missing_probe: dict[str, object] = {"at": float("-inf"), "of": None, "missing": []}


def _missing_keks() -> list[str]:
    """KEK versions stored cards need and this keyring lacks, looked up at most every KEYRING_PROBE_SECONDS."""
    now = time.monotonic()
    configuration = tuple(sorted(settings.VAULT_KEYRING))
    if _missing_probe["of"] == configuration and now - float(_missing_probe["at"]) < KEYRING_PROBE_SECONDS:  # type: ignore[arg-type]
        return list(_missing_probe["missing"])  # type: ignore[call-overload]
    missing = kek_versions_missing()
    _missing_probe.update(at=now, of=configuration, missing=missing)
    return missing


def _keyring_ok() -> bool:
    now = time.monotonic()
    configuration = (settings.VAULT_ACTIVE_KEK, tuple(sorted(settings.VAULT_KEYRING)))
    if _keyring_probe["of"] == configuration and now - float(_keyring_probe["at"]) < KEYRING_PROBE_SECONDS:  # type: ignore[arg-type]
        return bool(_keyring_probe["ok"])
    try:
        sealed = crypto.seal(_PROBE, merchant_id="health", record_id="probe")
        ok = crypto.open_sealed(sealed.value, merchant_id="health", record_id="probe") == _PROBE
    except Exception:
        ok = False
    _keyring_probe.update(at=now, of=configuration, ok=ok)
    return ok


@csrf_exempt  # no session, nothing changed: a POST is answered 405 like on the API
def live(request: HttpRequest) -> JsonResponse:
    if request.method not in ("GET", "HEAD"):
        return error_response(errors.MethodNotAllowed())
    return JsonResponse({"status": "ok"})


@csrf_exempt
def ready(request: HttpRequest) -> JsonResponse:
    if request.method not in ("GET", "HEAD"):
        return error_response(errors.MethodNotAllowed())
    checks: dict[str, bool] = {"database": _database_ok(), "keyring": _keyring_ok()}
    missing: list[str] = []
    if checks["database"]:  # unknown while the database is down: not reported then
        try:
            missing = _missing_keks()
            checks["keys_in_use"] = not missing
        except DatabaseError:
            checks["database"] = False
    required = dict(checks)
    redis_ok = rate_store_reachable()
    if redis_ok is not None:
        checks["rate_limit_store"] = redis_ok
        if settings.VAULT_RATE_LIMIT_ON_STORE_ERROR == "deny":
            required["rate_limit_store"] = redis_ok
    if all(required.values()):
        return JsonResponse({"status": "ready", "checks": checks})
    body: dict[str, object] = {"error": {"type": "api", "code": "HE_00", "message": "Not ready"}, "checks": checks}
    if missing:
        # Versions, never key material: what the operator must put back into VAULT_KEYRING.
        body["missing_kek_versions"] = missing
    return JsonResponse(body, status=503)
