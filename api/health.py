"""Health endpoints for the production server and its orchestrator.

`/health` is liveness: the process answers. `/health/ready` is readiness: the database answers, the
key provider (the local keyring, the HSM or KMS) wraps and opens a probe key, every key version
stored cards need is configured (each check cached a few seconds: anyone may call readiness), and,
when REDIS_URL is set, Redis answers; else 503 with which check failed. An unreachable Redis fails
readiness only under the `deny` policy (VAULT_RATE_LIMIT_ON_STORE_ERROR): with `allow` the vault
serves without it, and says so.
"""

import logging
import time

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from core import errors
from core.responses import error_response
from merchants.rate_limits import rate_store_reachable
from tokens.custody import probe as key_provider_probe
from tokens.rotation import fingerprint_versions_missing, kek_versions_missing

access_logger = logging.getLogger("vault.access")

KEYRING_PROBE_SECONDS = 5.0
FINGERPRINT_PROBE_SECONDS = 60.0  # a scan of the fingerprints: rarer than the indexed KEK check


class _CachedProbe:
    """A check run at most once every *seconds* per process and keys configuration: anyone may call
    readiness, and no caller may make it encrypt or scan at will."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.forget()

    def forget(self) -> None:
        self.at, self.of, self.result = float("-inf"), None, None

    def get(self, compute):
        now = time.monotonic()
        configuration = (
            settings.VAULT_KEY_PROVIDER,
            settings.VAULT_ACTIVE_KEK,
            tuple(sorted(settings.VAULT_KEYRING)),
            tuple(sorted(settings.VAULT_FINGERPRINT_KEYS)),
        )
        if self.of != configuration or now - self.at >= self.seconds:
            self.result, self.at, self.of = compute(), now, configuration
        return self.result


keyring_probe = _CachedProbe(KEYRING_PROBE_SECONDS)
missing_keks_probe = _CachedProbe(KEYRING_PROBE_SECONDS)
missing_fingerprints_probe = _CachedProbe(FINGERPRINT_PROBE_SECONDS)
PROBES = (keyring_probe, missing_keks_probe, missing_fingerprints_probe)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except DatabaseError:
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
    checks: dict[str, bool] = {"database": _database_ok(), "key_provider": bool(keyring_probe.get(key_provider_probe))}
    missing: dict[str, list[str]] = {}
    if checks["database"]:  # unknown while the database is down: not reported then
        try:
            missing = {
                "missing_kek_versions": missing_keks_probe.get(kek_versions_missing),
                "missing_fingerprint_key_versions": missing_fingerprints_probe.get(fingerprint_versions_missing),
            }
            checks["keys_in_use"] = not any(missing.values())
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
    # Versions, never key material: what the operator must put back into the keyrings.
    body.update({name: versions for name, versions in missing.items() if versions})
    return JsonResponse(body, status=503)


class ProbeMiddleware:
    """Answer `/health` and `/health/ready` ahead of host validation and the access log: a load
    balancer or orchestrator probes an instance by its address, whatever Host it sends, and a
    probe every few seconds that succeeds is not worth a log line. A failing one is logged."""

    probes = {"/health": live, "/health/ready": ready}

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        probe = self.probes.get(request.path_info)
        if probe is None:
            return self.get_response(request)
        response = probe(request)
        if response.status_code >= 400:
            access_logger.warning(
                "%s %s %s",
                request.method,
                request.path_info,
                response.status_code,
                extra={
                    "route": request.path_info.lstrip("/"),
                    "method": request.method,
                    "status": response.status_code,
                },
            )
        return response
