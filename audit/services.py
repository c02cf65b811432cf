"""Write audit events. Call inside the transaction of the act, so both commit or neither does."""

from typing import Any

from django.db import DatabaseError, transaction
from django.utils import timezone

from audit import chain
from audit.actions import AuditAction
from audit.actors import Actor
from audit.models import AuditEvent
from core.errors import DependencyUnavailable
from core.metrics import AUDIT_WRITE_FAILURES, AUDITED_ACTS
from core.prepared import PreparedInsert


def audit_record(
    *,
    actor: Actor,
    action: AuditAction,
    object_type: str = "",
    object_id: str = "",
    merchant_id: str = "",
    outcome: str = AuditEvent.Outcome.SUCCESS,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event; if it cannot be written, raise DependencyUnavailable so the act fails too."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must run inside the transaction of the act it records")
    fields = dict(
        occurred_at=timezone.now(),
        actor_kind=actor.kind,
        actor_id=actor.id,
        merchant_id=merchant_id or actor.merchant_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        outcome=outcome,
        request_id=actor.request_id,
        origin=actor.origin,
        details=details or {},
    )
    try:
        # No savepoint of its own: a failed audit write fails the whole act anyway, and a savepoint
        # would cost two more round trips on every audited request. No lock either: the row joins
        # the chain after the act commits (audit/sealing.py), so acts never queue behind one another.
        with transaction.atomic(savepoint=False):
            event = _EVENTS.create(**fields, seq=None, mac=chain.unchained_mac(fields))
    except DatabaseError as exc:
        AUDIT_WRITE_FAILURES.inc()
        raise DependencyUnavailable("The audit trail is unavailable; nothing was done") from exc
    # Counted once the act is committed: a rolled-back act did not happen.
    transaction.on_commit(AUDITED_ACTS.labels(str(action), str(outcome)).inc)
    return event


# Every audited act appends a row: compiled once per process (core/prepared.py).
_EVENTS = PreparedInsert(AuditEvent)
