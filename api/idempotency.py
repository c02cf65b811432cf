"""The `@idempotent` decorator for viewset actions that create."""

import functools
import json

from idempotency.services import idempotent_call
from tokens.crypto import request_digest


def idempotent(action):
    """Honour an optional Idempotency-Key header on this action (after authentication, per merchant)."""

    @functools.wraps(action)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return action(view, request, *args, **kwargs)
        merchant = view.principal.merchant
        # The same operation under either route spelling is the same request.
        body = json.dumps(request.data, sort_keys=True, separators=(",", ":")).encode()
        digest = request_digest(body, merchant_id=merchant.id, operation=f"{type(view).__name__}.{view.action}")
        return idempotent_call(
            merchant=merchant, key=key, digest=digest, call=lambda: action(view, request, *args, **kwargs)
        )

    return wrapper
