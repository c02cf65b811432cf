"""Write audit events: inside the transaction of the act (`audit_record`), or in one statement with
the act's own write (`audit_with`), so both commit or neither does."""

import secrets
from contextlib import nullcontext
from typing import Any, TypeVar

from django.db import DatabaseError, DataError, IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone

from audit import chain
from audit.actions import AuditAction
from audit.actors import Actor
from audit.models import AuditEvent
from core.errors import DependencyUnavailable
from core.metrics import AUDIT_WRITE_FAILURES, AUDITED_ACTS
from core.prepared import PendingWrite, PreparedInsert, write_together

M = TypeVar("M", bound=Model)


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
    return _write(actor, action, object_type, object_id, merchant_id, outcome, details, savepoint=False)


def audit_alone(
    *,
    actor: Actor,
    action: AuditAction,
    object_type: str,
    object_id: str,
    merchant_id: str,
    outcome: str = AuditEvent.Outcome.SUCCESS,
) -> AuditEvent:
    """The audit row of an act that writes nothing else (a reveal reads): one INSERT that commits
    itself, with no transaction around it to begin and commit (inside a caller's transaction, part
    of it). The caller hands nothing out until it returns; if it cannot be written,
    DependencyUnavailable, as for `audit_record`."""
    return _write(actor, action, object_type, object_id, merchant_id, outcome, None, savepoint=True)


def _write(
    actor: Actor,
    action: AuditAction,
    object_type: str,
    object_id: str,
    merchant_id: str,
    outcome: str,
    details: dict[str, Any] | None,
    *,
    savepoint: bool,
) -> AuditEvent:
    try:
        # An act's row (`audit_record`) takes no savepoint: a failed audit write fails the whole act
        # anyway, and a savepoint would cost two more round trips on every audited request. A row
        # on its own (`audit_alone`) is one INSERT, its own transaction; inside a caller's
        # transaction, a savepoint keeps its failure from spoiling the caller's.
        in_transaction = transaction.get_connection().in_atomic_block
        with transaction.atomic(savepoint=savepoint) if in_transaction else nullcontext():
            event = _event(actor, action, object_type, object_id, merchant_id, outcome, details)
            event.run()
    except DatabaseError as exc:
        AUDIT_WRITE_FAILURES.inc()
        raise DependencyUnavailable("The audit trail is unavailable; nothing was done") from exc
    _count_when_committed(action, outcome)
    return event.instance


def audit_with(
    act: PendingWrite[M],
    *,
    actor: Actor,
    action: AuditAction,
    object_type: str,
    object_id: str,
    merchant_id: str,
    outcome: str = AuditEvent.Outcome.SUCCESS,
    details: dict[str, Any] | None = None,
    savepoint: bool = True,
) -> M:
    """Write the act's row (an insert, or an update of a row its transaction holds) and its audit row
    together: both or neither (core/prepared.py, `write_together`: one statement on PostgreSQL). An
    IntegrityError or DataError is the act's and is raised as it is; any other database failure
    refuses the act as the audit trail's would. savepoint=False inside the act's own transaction,
    when a failure fails the whole act anyway."""
    try:
        event = _event(actor, action, object_type, object_id, merchant_id, outcome, details)
        write_together(act, event, savepoint=savepoint)
    except (IntegrityError, DataError):
        raise  # the act's own failure (its row exists already, a value that does not fit)
    except DatabaseError as exc:
        AUDIT_WRITE_FAILURES.inc()
        raise DependencyUnavailable("The audit trail is unavailable; nothing was done") from exc
    _count_when_committed(action, outcome)
    return act.instance


def _event(
    actor: Actor,
    action: AuditAction,
    object_type: str,
    object_id: str,
    merchant_id: str,
    outcome: str,
    details: dict[str, Any] | None,
) -> PendingWrite[AuditEvent]:
    """The audit row's INSERT. No lock and no place in the chain yet: the row joins the chain after
    the act commits (audit/sealing.py), so acts never queue behind one another for the trail."""
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
    nonce = secrets.token_hex(16)
    return _EVENTS.statement(**fields, seq=None, nonce=nonce, mac=chain.unchained_mac(fields, nonce))


def _count_when_committed(action: AuditAction, outcome: str) -> None:
    # Counted once the act is committed: a rolled-back act did not happen.
    transaction.on_commit(AUDITED_ACTS.labels(str(action), str(outcome)).inc)


# Every audited act appends a row: compiled once per process (core/prepared.py).
_EVENTS = PreparedInsert(AuditEvent)
