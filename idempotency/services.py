"""Idempotent POST creates, as API.md §4 and Stripe do them.

Same key and same request → the first answer, replayed. Same key, other request → 422. While the
first is still being answered, a retry waits a little for it, then gets 409. Failures are not kept,
so a failed request can be retried with its key. Records live VAULT_IDEMPOTENCY_TTL seconds.
"""

import json
import re
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Protocol, TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core import errors
from idempotency.models import IdempotencyRecord
from merchants.models import Merchant

_KEY_RE = re.compile(r"[\x21-\x7e]{1,255}", re.ASCII)
_WAIT_STEP_SECONDS = 0.05


def _claim(*, merchant: Merchant, key: str, digest: str) -> IdempotencyRecord | None:
    """Insert the in-flight record; return None if this request now owns the key, else the existing record."""
    try:
        with transaction.atomic():
            IdempotencyRecord.objects.create(merchant=merchant, key=key, request_digest=digest)
        return None
    except IntegrityError:
        return IdempotencyRecord.objects.filter(merchant=merchant, key=key).first()


def _fresh(record: IdempotencyRecord) -> bool:
    """Live: answered within the TTL, or still being answered by a request that may yet finish.

    An in-flight record older than VAULT_IDEMPOTENCY_STALE_SECONDS belongs to a request whose server
    died (a worker is killed after its timeout): it is taken over rather than blocking its key for a day.
    """
    age = timezone.now() - record.created_at
    if record.response_status is None:
        return age < timedelta(seconds=settings.VAULT_IDEMPOTENCY_STALE_SECONDS)
    return age < timedelta(seconds=settings.VAULT_IDEMPOTENCY_TTL)


class Answer(Protocol):
    """What a create answers: a status and a JSON-serialisable body (a DRF Response is one)."""

    status_code: int
    data: Any


A = TypeVar("A", bound=Answer)


def idempotent_call(
    *, merchant: Merchant, key: str, digest: str, call: Callable[[], A], replay: Callable[[int, Any], A]
) -> A:
    """Answer *call* at most once per (merchant, key); to retries of the same request, the stored answer
    rebuilt by *replay(status, body)*."""
    if not _KEY_RE.fullmatch(key):
        raise errors.InvalidRequest("Idempotency-Key must be 1 to 255 printable ASCII characters")
    deadline = time.monotonic() + settings.VAULT_IDEMPOTENCY_WAIT_SECONDS
    while (existing := _claim(merchant=merchant, key=key, digest=digest)) is not None:
        if not _fresh(existing):
            IdempotencyRecord.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
            continue
        if existing.request_digest != digest:
            raise errors.UnprocessableRequest("Idempotency-Key was already used with another request")
        if existing.response_status is not None and existing.response_body is not None:
            return replay(existing.response_status, json.loads(existing.response_body))
        if time.monotonic() >= deadline:
            raise errors.IdempotencyInFlight()
        time.sleep(_WAIT_STEP_SECONDS)
    try:
        response = call()
    except BaseException:
        IdempotencyRecord.objects.filter(merchant=merchant, key=key, response_status__isnull=True).delete()
        raise
    if 200 <= response.status_code < 300:
        IdempotencyRecord.objects.filter(merchant=merchant, key=key).update(
            response_status=response.status_code, response_body=json.dumps(response.data)
        )
    else:
        IdempotencyRecord.objects.filter(merchant=merchant, key=key, response_status__isnull=True).delete()
    return response


def idempotency_purge_expired() -> int:
    cutoff = timezone.now() - timedelta(seconds=settings.VAULT_IDEMPOTENCY_TTL)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lte=cutoff).delete()
    return deleted
