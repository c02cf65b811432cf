"""`GET /metrics`: the vault's Prometheus metrics, for a scraper holding VAULT_METRICS_TOKEN.

Served only with `Authorization: Bearer <VAULT_METRICS_TOKEN>`; without a configured token the
route does not exist (404). No API key, no rate limit, no audit row: a scrape reads counters and a
few grouped counts, never card data. The stored-record counts are computed at most every 30 s per
process, so scrapes cannot load the database.
"""

import hmac
import os
import time
from datetime import datetime

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from audit.selectors import unchained_rows
from core import errors
from core.responses import error_response
from tokens.selectors import merchant_keys_by_root, stored_records_by_key_version

STORED_COUNTS_SECONDS = 30.0


class KeyCollector:
    """Gauges read at scrape time: records per key version, merchant keys per root key version, and
    the keyring versions and key provider of the instance answering."""

    def __init__(self) -> None:
        self._at = float("-inf")
        self._records: dict[str, int] = {}
        self._merchant_keys: list[tuple[str, str, str, int]] = []

    def collect(self):
        now = time.monotonic()
        if now - self._at >= STORED_COUNTS_SECONDS:
            self._records, self._merchant_keys, self._at = stored_records_by_key_version(), merchant_keys_by_root(), now
        records = GaugeMetricFamily(
            "vault_stored_payment_methods",
            "Payment methods by the key wrapping their data key.",
            labels=["key_version"],
        )
        for version, total in sorted(self._records.items()):
            records.add_metric([version], total)
        merchant_keys = GaugeMetricFamily(
            "vault_merchant_keys", "Merchant keys by root provider, root key version and state.",
            labels=["root_provider", "root_version", "state"],
        )  # fmt: skip
        for provider, version, state, total in sorted(self._merchant_keys):
            merchant_keys.add_metric([provider, version, state], total)
        keyring = GaugeMetricFamily(
            "vault_keyring_version", "This instance's VAULT_KEYRING versions (1 = the active one).", labels=["version"]
        )
        for version in sorted(settings.VAULT_KEYRING):
            keyring.add_metric([version], 1 if version == settings.VAULT_ACTIVE_KEK else 0)
        provider = GaugeMetricFamily("vault_key_provider", "This instance's root key provider.", labels=["provider"])
        provider.add_metric([settings.VAULT_KEY_PROVIDER], 1)
        return [records, merchant_keys, keyring, provider]


class AuditChainCollector:
    """Gauges read at scrape time: the audit rows waiting for their place in the chain, and the age of
    the oldest. Both stay near zero while `run_worker` runs; a growing age means it does not."""

    def __init__(self) -> None:
        self._at = float("-inf")
        self._waiting: tuple[int, datetime | None] = (0, None)

    def collect(self):
        now = time.monotonic()
        if now - self._at >= STORED_COUNTS_SECONDS:
            self._waiting, self._at = unchained_rows(), now
        count, oldest = self._waiting
        waiting = GaugeMetricFamily("vault_audit_rows_unchained", "Audit rows waiting for their place in the chain.")
        waiting.add_metric([], count)
        age = GaugeMetricFamily(
            "vault_audit_oldest_unchained_seconds", "Age of the oldest audit row waiting for its place in the chain."
        )
        age.add_metric([], (timezone.now() - oldest).total_seconds() if oldest else 0)
        return [waiting, age]


_keys = KeyCollector()
_audit = AuditChainCollector()


def _registry():
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Under gunicorn: add up every worker's files, dead workers' counts included.
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        registry.register(_keys)
        registry.register(_audit)
        return registry
    for collector in (_keys, _audit):
        if collector not in REGISTRY._collector_to_names:
            REGISTRY.register(collector)
    return REGISTRY


@csrf_exempt  # no session: a POST is answered 405, not with the console's CSRF page
def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.VAULT_METRICS_TOKEN
    if not token:
        return error_response(errors.RouteNotFound())
    supplied = request.headers.get("Authorization", "")
    if not hmac.compare_digest(supplied.encode(), f"Bearer {token}".encode()):
        return error_response(errors.Unauthenticated())
    if request.method not in ("GET", "HEAD"):
        return error_response(errors.MethodNotAllowed())
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
