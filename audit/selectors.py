"""Reads of the audit trail for other pages: who did an act to an object, and when."""

from datetime import datetime

from django.db.models import Count, Min

from audit.actions import AuditAction
from audit.models import AuditEvent


def latest_event(*, merchant_id: str, object_type: str, object_id: str, action: AuditAction) -> AuditEvent | None:
    """The newest successful *action* on the object, or None (one indexed query)."""
    return (
        AuditEvent.objects.filter(
            merchant_id=merchant_id,
            object_type=object_type,
            object_id=object_id,
            action=action,
            outcome=AuditEvent.Outcome.SUCCESS,
        )
        .order_by("-id")
        .first()
    )


def unchained_rows() -> tuple[int, datetime | None]:
    """How many rows wait for their place in the chain, and when the oldest of them was written (the
    partial index on waiting rows answers it)."""
    found = AuditEvent.objects.filter(seq__isnull=True).aggregate(count=Count("id"), oldest=Min("occurred_at"))
    return found["count"], found["oldest"]
