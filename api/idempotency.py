"""The `@idempotent` decorator for viewset actions that create."""

import functools

from rest_framework.response import Response

from idempotency.digest import request_digest
from idempotency.services import idempotent_call


def idempotent(action):
    """Honour an optional Idempotency-Key header on this action (after authentication, per merchant)."""

    @functools.wraps(action)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return action(view, request, *args, **kwargs)
        merchant = view.merchant
        # The same operation under either route spelling is the same request.
        digest = request_digest(request.data, merchant_id=merchant.id, operation=f"{type(view).__name__}.{view.action}")
        return idempotent_call(
            merchant=merchant,
            key=key,
            digest=digest,
            call=lambda: action(view, request, *args, **kwargs),
            replay=lambda status, body: Response(body, status=status),
        )

    return wrapper
