"""Give waiting audit rows their place in the chain (audit/chain.py).

Acts write their row unchained, inside their own transaction, and never lock anything shared for
the trail; the sealer, a short transaction of its own, locks the chain's head, takes the rows still
waiting in id order, checks each against its own MAC, and gives them the next sequence numbers and
their chained MACs. It runs in `run_worker` (every second by default) and before an export; several
sealers at once are harmless (the head lock lets one work, the others find nothing or skip).

A waiting row that does not match its own MAC was changed or inserted behind the vault: the sealer
stops before it, logs it and leaves it for `verify_audit` to name. Rows after it wait until someone
looks; their own MACs still show any change to them.
"""

import logging
from dataclasses import dataclass

from django.db import DatabaseError, transaction

from audit import chain
from audit.models import AuditChainHead, AuditEvent
from core.prepared import update_many

logger = logging.getLogger(__name__)

BATCH = 2000
_FIELDS = tuple(name for name in chain.CHAINED_FIELDS if name != "seq")


@dataclass
class Sealed:
    rows: int = 0
    # The id of a waiting row that does not match its own MAC; sealing stopped before it.
    refused_id: int | None = None


def seal_pending(*, wait: bool = True, batch: int = BATCH) -> Sealed:
    """Seal every row waiting now, *batch* rows per transaction. With wait=False, leave at once when
    another sealer holds the head (it will seal them)."""
    sealed = Sealed()
    while True:
        with transaction.atomic():
            head = _locked_head(wait=wait)
            if head is None:
                return sealed
            done, refused = _seal_batch(head, batch)
        sealed.rows += done
        if refused is not None:
            sealed.refused_id = refused
            logger.error(
                "audit row id %s does not match its own MAC (changed or inserted behind the vault): "
                "the chain stops before it; run verify_audit",
                refused,
            )
            return sealed
        if done < batch:
            return sealed


def _seal_batch(head: AuditChainHead, batch: int) -> tuple[int, int | None]:
    waiting = (
        AuditEvent.objects.filter(seq__isnull=True).order_by("id").values_list("id", "mac", "nonce", *_FIELDS)[:batch]
    )
    places, refused = [], None
    seq, previous = head.seq, head.mac
    for row_id, mac, nonce, *values in waiting:
        fields = dict(zip(_FIELDS, values, strict=True))
        if not chain.unchained_mac_matches(fields, nonce, mac):
            refused = row_id
            break
        seq += 1
        fields["seq"] = seq
        previous = chain.row_mac(fields, previous)
        places.append((row_id, seq, previous))
    if places:
        # The one update the trail allows: a waiting row gets its place, once (the trigger checks it).
        update_many(AuditEvent, "bigint", {"seq": "bigint", "mac": "text"}, places)
        AuditChainHead.objects.filter(pk=head.pk).update(seq=seq, mac=previous)
    return len(places), refused


def _locked_head(*, wait: bool) -> AuditChainHead | None:
    head = AuditChainHead.objects.select_for_update(skip_locked=not wait).filter(pk=1).first()
    if head is not None or AuditChainHead.objects.filter(pk=1).exists():
        return head  # None here: another sealer holds it
    # Made by the migration; made again only on an empty table (a test database just flushed).
    AuditChainHead.objects.bulk_create([AuditChainHead(pk=1)], ignore_conflicts=True)
    head = AuditChainHead.objects.select_for_update().get(pk=1)
    if head.seq == 0 and AuditEvent.objects.filter(seq__isnull=False).exists():
        raise DatabaseError("the audit chain's head is missing while chained rows exist")
    return head
