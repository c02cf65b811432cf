"""Refused API requests in the audit trail, aggregated: one row per subject (an API key id, or the
client address when no key id could be read), refusal and minute, with the number of requests.

Counting is one upsert per refused request. The rows are written once a minute is over: by the next
refusal of the same subject, by `run_worker` and by `purge_expired` (`flush_closed_windows`).
"""

import time

from django.db import connection, transaction

from audit.actions import AuditAction
from audit.actors import Actor
from audit.models import AccessFailureWindow, AuditEvent
from audit.services import audit_record


def _minute(now: float | None = None) -> int:
    return int((now if now is not None else time.time()) // 60)


def count_refusal(
    *, key_id: str | None, origin: str, code: str, status: int, merchant_id: str = "", now: float | None = None
) -> None:
    subject = f"key:{key_id}" if key_id else f"address:{origin or 'unknown'}"
    minute = _minute(now)
    table = connection.ops.quote_name(AccessFailureWindow._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (subject, minute, code, status, merchant_id, origin, count) "  # noqa: S608 - a quoted name
            "VALUES (%s, %s, %s, %s, %s, %s, 1) "
            f"ON CONFLICT (subject, minute, code) DO UPDATE SET count = {table}.count + 1 RETURNING count",
            [subject[:100], minute, code[:16], status, merchant_id[:64], origin[:64]],
        )
        first = cursor.fetchone()[0] == 1
    if first:
        flush_closed_windows(subject=subject[:100], now=now)


def flush_closed_windows(*, subject: str | None = None, now: float | None = None) -> int:
    """Turn the windows of minutes already over into audit rows; answer how many rows were written."""
    current = _minute(now)
    with transaction.atomic():
        windows = AccessFailureWindow.objects.filter(minute__lt=current)
        if subject is not None:
            windows = windows.filter(subject=subject)
        closed = list(windows.select_for_update(skip_locked=True).order_by("minute", "id"))
        for window in closed:
            kind, _, who = window.subject.partition(":")
            audit_record(
                actor=Actor(kind="api_key", id=who if kind == "key" else "unknown", origin=window.origin),
                action=AuditAction.API_ACCESS_REFUSED,
                object_type="api",
                merchant_id=window.merchant_id,
                outcome=AuditEvent.Outcome.DENIED,
                details={
                    "code": window.code,
                    "status": window.status,
                    "count": window.count,
                    "minute_start": window.minute * 60,
                    "subject": kind,
                },
            )
        AccessFailureWindow.objects.filter(pk__in=[window.pk for window in closed]).delete()
    return len(closed)
