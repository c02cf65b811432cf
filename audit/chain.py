"""Tamper evidence for the audit trail: a chain of MACs.

Each row carries a sequence number and `<key version>$<HMAC-SHA256>` over its content and the
previous row's MAC, under a key from VAULT_AUDIT_KEYS that the database never sees. Changing a row,
inserting one, or removing one from the middle breaks the chain at that row, and `verify_audit`
names it. The head row (AuditChainHead) holds the last sequence number and MAC; appending locks it,
so rows chain in one order across every process and instance sharing the database.

What the chain cannot show on its own: someone with write access to the database who removes the
newest rows and winds the head back to an older row. Exported checkpoints, kept elsewhere, anchor
the chain against that (`export_audit`).
"""

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

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


def newest_version() -> str:
    return max(settings.VAULT_AUDIT_KEYS, key=int)


def mac_matches(values: dict, previous_mac: str, stored_mac: str) -> bool:
    version = stored_mac.partition("$")[0]
    if version not in settings.VAULT_AUDIT_KEYS:
        return False
    return hmac.compare_digest(row_mac(values, previous_mac, version=version), stored_mac)


@dataclass
class Verdict:
    """What a walk of the chain found: `problem` is None when every row checked out."""

    checked: int = 0
    problem: str | None = None
    first_bad_seq: int | None = None


def verify_chain(*, chunk_size: int = 5000) -> Verdict:
    """Walk the chain from its anchor in sequence order and stop at the first row that does not check
    out: changed (its MAC fails), inserted (a MAC nobody with the key made), removed (a gap in the
    sequence), rows outside the chain, or a head that does not match the last row."""
    from audit.models import AuditChainHead, AuditEvent

    verdict = Verdict()
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is None:
        if AuditEvent.objects.exists():
            verdict.problem = "the chain's head row is missing"
        return verdict
    unchained = AuditEvent.objects.filter(seq__isnull=True).order_by("id").values_list("id", flat=True).first()
    if unchained is not None:
        verdict.problem = f"row id {unchained} is outside the chain (no sequence number): inserted behind the vault"
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
