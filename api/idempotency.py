"""The `@idempotent` decorator for viewset actions that change something (the creates, set-default)."""

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
        # The same operation under either route spelling is the same request; the ids in its path
        # are part of it (the same key on another customer's default is another request).
        operation = f"{type(view).__name__}.{view.action}"
        if kwargs:
            operation += "".join(f"/{name}={kwargs[name]}" for name in sorted(kwargs))
        digest = request_digest(request.data, merchant_id=merchant.id, operation=operation)
        return idempotent_call(
            merchant=merchant,
            key=key,
            digest=digest,
            call=lambda: action(view, request, *args, **kwargs),
            replay=lambda status, body: Response(body, status=status),
        )

    return wrapper
