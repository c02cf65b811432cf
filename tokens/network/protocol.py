"""The token-service protocol the vault's client speaks and the simulator serves.

JSON over HTTP, bearer authentication (`Authorization: Bearer <key>`), all under `/v1`:

| request | answer |
|---|---|
| `POST /v1/tokens` `{"card_number", "exp_month", "exp_year", "requestor_reference"}` | 201 `TOKEN` (200: see below) |
| `GET /v1/tokens?after=<token_ref>&limit=<1-500>` | 200 `{"tokens": [LISTED, …]}` in token_ref order |
| `GET /v1/tokens/{token_ref}` | 200 `TOKEN` (without `token_number`) |
| `POST /v1/tokens/{token_ref}/cryptograms` | 200 `{"cryptogram", "eci"}` (new on every call) |
| `POST /v1/tokens/{token_ref}/suspend`, `…/resume` | 200 `TOKEN` (without `token_number`) |
| `DELETE /v1/tokens/{token_ref}` | 200 `TOKEN` (without `token_number`), status DELETED |

A create whose `requestor_reference` and card match a live token answers that token (200): a retry
after a timeout gets the token already issued. `LISTED` is `{"token_ref", "status", "requestor_reference"}`.

`TOKEN` is `{"token_ref", "token_number"?, "token_last4", "token_isin", "token_exp_month", "token_exp_year",
"par", "network", "status"}` with status one of ACTIVE, SUSPENDED, DELETED, EXPIRED. Errors are
`{"error": {"code", "message"}}` with 400 (bad request), 401 (bad credentials), 404 (unknown token),
409 (a deleted token cannot change), 422 (card not eligible) or 503 (try again).

Lifecycle events are pushed to the vault's webhook as `POST` JSON `{"event_id", "token_ref",
"status", "token_exp_month", "token_exp_year", "occurred_at"}`, signed in the header
`X-Token-Service-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" under the shared secret>`.
"""

import hashlib
import hmac
import re
import time

SIGNATURE_HEADER = "X-Token-Service-Signature"
STATUSES = ("ACTIVE", "SUSPENDED", "DELETED", "EXPIRED")
TOKEN_DELETED = "DELETED"
# How old a signed webhook may be before it is refused as a possible replay.
SIGNATURE_TOLERANCE_SECONDS = 300


def sign(body: bytes, secret: str, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


# The header exactly as `sign` writes it: a timestamp of at most 10 digits and 64 lowercase hex digits.
# Anything else is refused before a number is parsed or a digest compared.
_SIGNATURE = re.compile(r"t=([0-9]{1,10}),v1=([0-9a-f]{64})", re.ASCII)


def signature_valid(body: bytes, header: str, secret: str, now: float | None = None) -> bool:
    """Check a webhook signature in constant time, and that it is recent."""
    match = _SIGNATURE.fullmatch(header)
    if match is None:
        return False
    timestamp, given = int(match.group(1)), match.group(2)
    now = time.time() if now is None else now
    if abs(now - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
        return False
    expected = sign(body, secret, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, given)
