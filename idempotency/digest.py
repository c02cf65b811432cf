"""A keyed digest of a create request, to tell a retry from another request without keeping either.

The body may hold a card number, so a plain hash could be brute-forced; the digest is an HMAC under
a key of its own, derived from DJANGO_SECRET_KEY for this one purpose (Django's salted_hmac), not the
fingerprint key, whose rotation must not turn a retry into "another request". The CVC is left out:
it is never stored, not even inside a digest, and a retry with another CVC is the same payment method.
"""

import json
from typing import Any

from django.utils.crypto import salted_hmac

SCHEME = "i1"
_SALT = "vault.idempotency.request-digest"
_NEVER_DIGESTED = frozenset({"card_cvc"})


def _without_cvc(document: Any) -> Any:
    if isinstance(document, dict):
        return {key: _without_cvc(value) for key, value in document.items() if key not in _NEVER_DIGESTED}
    if isinstance(document, list):
        return [_without_cvc(item) for item in document]
    return document


def request_digest(document: Any, *, merchant_id: str, operation: str) -> str:
    """`i1$<hex HMAC-SHA256>` of the merchant, the operation and the parsed body (keys sorted)."""
    body = json.dumps(_without_cvc(document), sort_keys=True, separators=(",", ":"))
    message = f"{merchant_id}\x00{operation}\x00{body}"
    return f"{SCHEME}${salted_hmac(_SALT, message, algorithm='sha256').hexdigest()}"
