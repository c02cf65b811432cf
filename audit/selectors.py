"""Reads of the audit trail for other pages: who did an act to an object, and when."""

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
