"""Tamper evidence for the audit trail: a chain of MACs.

A row is written by the act it records with no place in the chain yet: no sequence number, and a MAC
over its content alone (`unchained_mac`), so changing it or inserting one without the key shows from
the start. The sealer (audit/sealing.py, run by `run_worker` every second) then gives the waiting rows,
oldest id first, their place: a sequence number and `<key version>$<HMAC-SHA256>` over their content
and the previous row's MAC, under a key from VAULT_AUDIT_KEYS that the database never sees. Changing a
row, inserting one, or removing one from the middle then breaks the chain at that row, and
`verify_audit` names it. The head row (AuditChainHead) holds the last sequence number and MAC; only the
sealer locks it, so acts never wait on one another for the trail.

What the chain cannot show on its own: someone with write access to the database who removes a row
before it has its place (a second, with the worker running), or removes the newest rows and winds the
head back to an older row. Exported checkpoints, kept elsewhere, anchor the chain against the latter
(`export_audit`).
"""

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction

from core.encoding import encode_fields

# The fields a MAC covers, in order; the id is left out (the sequence number orders the chain).
CHAINED_FIELDS = (
    "seq",
    "occurred_at",
    "actor_kind",
    "actor_id",
    "merchant_id",
    "action",
    "object_type",
    "object_id",
    "outcome",
    "request_id",
    "origin",
    "details",
)


def _text(name: str, value) -> str:
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    if name == "details":
        # Sorted keys and ASCII escapes: the same text whatever order the database returns keys in.
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return str(value)


def row_mac(values: dict, previous_mac: str, *, version: str | None = None) -> str:
    """The MAC of a row given as {field: value}, chained to *previous_mac*; under the newest audit
    key unless *version* names another (KeyError if this instance lacks it)."""
    version = version or newest_version()
    key = settings.VAULT_AUDIT_KEYS[version]
    message = encode_fields(*(_text(name, values[name]) for name in CHAINED_FIELDS), previous_mac)
    return f"{version}${hmac.new(key, message, hashlib.sha256).hexdigest()}"


def unchained_mac(values: dict, nonce: str) -> str:
    """The MAC a row carries until the sealer gives it its place: its content with no sequence
    number, bound to the row's nonce (unique in the table, so a copy of a waiting row cannot be
    inserted), so it can never pass for a chained row's MAC."""
    return row_mac({**values, "seq": None}, f"unchained:{nonce}")


def unchained_mac_matches(values: dict, nonce: str | None, stored_mac: str) -> bool:
    return bool(nonce) and mac_matches({**values, "seq": None}, f"unchained:{nonce}", stored_mac)


def newest_version() -> str:
    return max(settings.VAULT_AUDIT_KEYS, key=int)


def mac_matches(values: dict, previous_mac: str, stored_mac: str) -> bool:
    version = stored_mac.partition("$")[0]
    if version not in settings.VAULT_AUDIT_KEYS:
        return False
    return hmac.compare_digest(row_mac(values, previous_mac, version=version), stored_mac)


@dataclass
class Verdict:
    """What a walk of the chain found: `problem` is None when every row checked out. `unchained`
    counts the rows still waiting for their place, each of which matched its own MAC."""

    checked: int = 0
    problem: str | None = None
    first_bad_seq: int | None = None
    unchained: int = 0


def verify_chain(*, chunk_size: int = 5000) -> Verdict:
    """Walk the chain from its anchor in sequence order and stop at the first row that does not check
    out: changed (its MAC fails), inserted (a MAC nobody with the key made), removed (a gap in the
    sequence), or a head that does not match the last row; then check each row still waiting for its
    place against its own MAC. One snapshot throughout, so the sealer may run meanwhile; read-only, so
    it runs on a standby too."""
    # On SQLite (development) the transaction holds the database's write lock for the walk: a
    # development database is small, and the sealer simply waits.
    snapshot = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic():
        if snapshot:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        verdict = _walk_chain(chunk_size)
        if verdict.problem is None:
            _check_unchained(verdict, chunk_size)
        return verdict


def _walk_chain(chunk_size: int) -> Verdict:
    from audit.models import AuditChainHead, AuditEvent

    verdict = Verdict()
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is None:
        if AuditEvent.objects.filter(seq__isnull=False).exists():
            verdict.problem = "the chain's head row is missing"
        return verdict
    hidden = AuditEvent.objects.filter(seq__lte=head.anchor_seq).values_list("id", flat=True).first()
    if hidden is not None:
        # Removal of exported rows deletes everything up to the anchor: nothing may sit there.
        verdict.problem = f"row id {hidden} has a place at or before where the chain starts: moved out of sight"
        return verdict
    expected, previous = head.anchor_seq + 1, head.anchor_mac
    rows = (
        AuditEvent.objects.filter(seq__gte=expected)
        .order_by("seq")
        .values_list("id", "mac", *CHAINED_FIELDS)
        .iterator(chunk_size=chunk_size)
    )
    for row_id, mac, *values in rows:
        fields = dict(zip(CHAINED_FIELDS, values, strict=True))
        seq = fields["seq"]
        if seq != expected:
            verdict.problem = f"rows {expected}..{seq - 1} of the chain are missing (removed)"
            verdict.first_bad_seq = expected
            return verdict
        if not mac_matches(fields, previous, mac):
            verdict.problem = f"row {seq} (id {row_id}) does not match its MAC: changed, or not written by the vault"
            verdict.first_bad_seq = seq
            return verdict
        verdict.checked += 1
        expected, previous = seq + 1, mac
    if head.seq != expected - 1 or head.mac != previous:
        verdict.problem = (
            f"the head names row {head.seq} but the chain ends at row {expected - 1}: "
            "the newest rows were removed, or the head was changed"
        )
        verdict.first_bad_seq = expected
    return verdict


def _check_unchained(verdict: Verdict, chunk_size: int) -> None:
    from audit.models import AuditEvent

    rows = (
        AuditEvent.objects.filter(seq__isnull=True)
        .order_by("id")
        .values_list("id", "mac", "nonce", *CHAINED_FIELDS)
        .iterator(chunk_size=chunk_size)
    )
    for row_id, mac, nonce, *values in rows:
        if not unchained_mac_matches(dict(zip(CHAINED_FIELDS, values, strict=True)), nonce, mac):
            verdict.problem = (
                f"row id {row_id}, not yet in the chain, does not match its MAC: changed, or inserted behind the vault"
            )
            return
        verdict.unchained += 1
