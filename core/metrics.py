"""The vault's Prometheus metrics: what it counts, named once. Acts are counted where they happen;
`api/metrics.py` serves them. Labels are route patterns and fixed names, never a raw path, an id,
card data or a key.

Under gunicorn each worker writes its counts to files in PROMETHEUS_MULTIPROC_DIR (set per instance
by gunicorn.conf.py) and a scrape adds them up; in a single process the default registry serves.
"""

from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Counter(
    "vault_http_requests", "Requests answered, by route pattern, method and status.", ["route", "method", "status"]
)
HTTP_LATENCY = Histogram(
    "vault_http_request_duration_seconds",
    "Time to answer a request, by route pattern.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
# Every audited act after its transaction committed: payment methods created, revealed, reveals
# denied, keys issued, and so on (action and outcome are a closed set: audit/actions.py).
AUDITED_ACTS = Counter("vault_audited_acts", "Audited acts committed, by action and outcome.", ["action", "outcome"])
AUDIT_WRITE_FAILURES = Counter("vault_audit_write_failures", "Acts refused because the audit row could not be written.")
API_REFUSALS = Counter(
    "vault_api_refusals",
    "API requests refused: unauthenticated (401), forbidden (403), rate_limited (429).",
    ["reason"],
)
TOKEN_SERVICE_CALLS = Counter(
    "vault_token_service_calls",
    "Calls to the network token service, by operation and outcome.",
    ["operation", "outcome"],
)
