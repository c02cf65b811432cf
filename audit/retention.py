"""Audit retention: export the oldest rows to JSON lines ending in a signed checkpoint, and, on a
superuser's say-so, remove exactly the rows an export holds, re-anchoring the chain at its checkpoint.

An export starts where the chain starts (its anchor) and ends at the newest row older than the date
asked for, so exports follow one another without gaps. Its last line is the checkpoint: the range,
the last row's MAC and the anchor, signed with the newest audit key. Removal checks the signature,
re-computes every exported row's MAC from the file, and compares each with the database before it
deletes anything.
"""

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import IO

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit import chain
from audit.actions import AuditAction
from audit.actors import Actor
from audit.models import AuditChainHead, AuditEvent
from audit.services import audit_record
from core.encoding import encode_fields


class RetentionRefused(Exception):
    """An export or removal that would lose or misplace rows; the message says why."""


@dataclass(frozen=True)
class Checkpoint:
    first_seq: int
    last_seq: int
    last_mac: str
    anchor_mac: str
    rows: int
    exported_at: str

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _signature(checkpoint: dict, *, version: str | None = None) -> str:
    version = version or chain.newest_version()
    message = encode_fields("audit-checkpoint", json.dumps(checkpoint, sort_keys=True))
    return f"{version}${hmac.new(settings.VAULT_AUDIT_KEYS[version], message, hashlib.sha256).hexdigest()}"


def _row_json(fields: dict, row_id: int, mac: str) -> str:
    values = {**fields, "occurred_at": fields["occurred_at"].isoformat(timespec="microseconds")}
    return json.dumps({"id": row_id, **values, "mac": mac}, sort_keys=True)


def export_before(*, before: datetime, out: IO[str]) -> Checkpoint | None:
    """Write the chain's rows from its anchor up to the newest row older than *before*, then the
    signed checkpoint; None (nothing written) when no row is that old. A broken chain is refused."""
    head = AuditChainHead.objects.get(pk=1)
    last = (
        AuditEvent.objects.filter(seq__gt=head.anchor_seq, occurred_at__lt=before)
        .order_by("-seq")
        .values_list("seq", flat=True)
        .first()
    )
    if last is None:
        return None
    expected, previous = head.anchor_seq + 1, head.anchor_mac
    rows = (
        AuditEvent.objects.filter(seq__gte=expected, seq__lte=last)
        .order_by("seq")
        .values_list("id", "mac", *chain.CHAINED_FIELDS)
        .iterator(chunk_size=5000)
    )
    for row_id, mac, *values in rows:
        fields = dict(zip(chain.CHAINED_FIELDS, values, strict=True))
        if fields["seq"] != expected or not chain.mac_matches(fields, previous, mac):
            raise RetentionRefused(f"the chain does not verify at row {expected}: run verify_audit")
        out.write(_row_json(fields, row_id, mac) + "\n")
        expected, previous = expected + 1, mac
    checkpoint = Checkpoint(
        first_seq=head.anchor_seq + 1,
        last_seq=last,
        last_mac=previous,
        anchor_mac=head.anchor_mac,
        rows=last - head.anchor_seq,
        exported_at=timezone.now().isoformat(),
    )
    out.write(json.dumps({"checkpoint": checkpoint.as_dict(), "signature": _signature(checkpoint.as_dict())}) + "\n")
    return checkpoint


def read_export(lines: IO[str]) -> tuple[Checkpoint, list[dict]]:
    """The checkpoint and rows of an export, once its signature and every row's MAC check out."""
    entries = [json.loads(line) for line in lines if line.strip()]
    if not entries or "checkpoint" not in entries[-1]:
        raise RetentionRefused("the file does not end with a checkpoint: not an export, or cut short")
    trailer, rows = entries[-1], entries[:-1]
    version = str(trailer.get("signature", "")).partition("$")[0]
    if version not in settings.VAULT_AUDIT_KEYS or not hmac.compare_digest(
        _signature(trailer["checkpoint"], version=version), trailer["signature"]
    ):
        raise RetentionRefused("the checkpoint's signature does not verify")
    checkpoint = Checkpoint(**trailer["checkpoint"])
    previous, expected = checkpoint.anchor_mac, checkpoint.first_seq
    for row in rows:
        fields = {name: row[name] for name in chain.CHAINED_FIELDS}
        fields["occurred_at"] = datetime.fromisoformat(row["occurred_at"])
        if row["seq"] != expected or not chain.mac_matches(fields, previous, row["mac"]):
            raise RetentionRefused(f"row {expected} of the file does not verify: the file was changed")
        previous, expected = row["mac"], expected + 1
    if expected - 1 != checkpoint.last_seq or previous != checkpoint.last_mac:
        raise RetentionRefused("the file's rows do not end at its checkpoint")
    return checkpoint, rows


def remove_exported(*, checkpoint: Checkpoint, rows: list[dict], actor: Actor, approved_by: str) -> int:
    """Delete the exported rows and re-anchor the chain at the checkpoint; audited. The database must
    still hold exactly those rows, starting at the chain's anchor."""
    with transaction.atomic():
        head = AuditChainHead.objects.select_for_update().get(pk=1)
        if checkpoint.first_seq != head.anchor_seq + 1 or checkpoint.anchor_mac != head.anchor_mac:
            raise RetentionRefused("the export does not start where the chain now starts: remove older exports first")
        stored = dict(
            AuditEvent.objects.filter(seq__gte=checkpoint.first_seq, seq__lte=checkpoint.last_seq).values_list(
                "seq", "mac"
            )
        )
        if stored != {row["seq"]: row["mac"] for row in rows}:
            raise RetentionRefused("the database's rows differ from the export's: nothing removed")
        removed = _delete_through(checkpoint.last_seq)
        AuditChainHead.objects.filter(pk=head.pk).update(anchor_seq=checkpoint.last_seq, anchor_mac=checkpoint.last_mac)
        audit_record(
            actor=actor,
            action=AuditAction.AUDIT_REMOVE_EXPORTED,
            object_type="audit_trail",
            details={**checkpoint.as_dict(), "approved_by": approved_by},
        )
    return removed


def _delete_through(last_seq: int) -> int:
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The append-only trigger is skipped for this transaction only; PostgreSQL allows that to a
            # superuser (or a role granted the setting), never to the application's own role.
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(f"DELETE FROM {table} WHERE seq <= %s", [last_seq])  # noqa: S608 - a quoted table name
        return cursor.rowcount
