"""Key rotation, in batches while reads and writes go on: re-wrap data keys under the active KEK, and
recompute fingerprints made with an older fingerprint key."""

from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_record
from tokens import crypto
from tokens.models import PaymentMethod


def _stale():
    """Records whose data key or fingerprint is not under the newest key."""
    old_kek = ~Q(kek_version="") & ~Q(kek_version=settings.VAULT_ACTIVE_KEK)
    old_fingerprint = Q(card_fingerprint__isnull=False) & ~Q(
        card_fingerprint__startswith=f"{crypto.current_fingerprint_version()}$"
    )
    return PaymentMethod.unscoped.filter(old_kek | old_fingerprint)


def records_to_rewrap() -> int:
    return _stale().count()


def kek_versions_in_use() -> Counter:
    """How many stored records each KEK version wraps."""
    return Counter(PaymentMethod.unscoped.exclude(kek_version="").values_list("kek_version", flat=True))


def fingerprint_versions_in_use() -> Counter:
    fingerprints = PaymentMethod.unscoped.filter(card_fingerprint__isnull=False).values_list(
        "card_fingerprint", flat=True
    )
    return Counter(value.split("$", 1)[0] for value in fingerprints)


def _refresh(payment_method: PaymentMethod) -> None:
    merchant_id, record_id = payment_method.merchant_id, payment_method.id
    fingerprint_version = crypto.current_fingerprint_version()
    if payment_method.card_fingerprint and not payment_method.card_fingerprint.startswith(f"{fingerprint_version}$"):
        secret = crypto.open_sealed(payment_method.sealed_card, merchant_id=merchant_id, record_id=record_id)
        payment_method.card_fingerprint = crypto.fingerprint(secret, merchant_id=merchant_id)
    if payment_method.kek_version != settings.VAULT_ACTIVE_KEK:
        sealed = crypto.rewrap(payment_method.sealed_card, merchant_id=merchant_id, record_id=record_id)
        payment_method.sealed_card, payment_method.kek_version = sealed.value, sealed.kek_version


@dataclass
class RotationProgress:
    """Where a run has got to: records are visited in id order, so each batch starts after the last."""

    after: str = ""
    unreadable: set[str] = field(default_factory=set)


def rewrap_batch(*, actor: Actor, batch_size: int, progress: RotationProgress | None = None) -> int:
    """Bring up to *batch_size* stale records under the newest keys; return how many were done.

    Each batch is one transaction with its audit event, so an interrupted run resumes where it stopped.
    A record that cannot be decrypted (its KEK version missing, its value damaged) is left as it is,
    listed in *progress* and passed over, so one bad record cannot stall the rest.
    """
    progress = progress or RotationProgress()
    while True:
        done, failed = _rewrap_once(actor=actor, batch_size=batch_size, progress=progress)
        progress.unreadable |= failed
        if done or not failed:
            return done


_UPDATE = "UPDATE {table} SET sealed_card = %s, kek_version = %s, card_fingerprint = %s WHERE id = %s"


def _rewrap_once(*, actor: Actor, batch_size: int, progress: RotationProgress) -> tuple[int, set[str]]:
    with transaction.atomic():
        batch = list(
            _stale()
            .filter(id__gt=progress.after)
            .select_for_update()
            .order_by("id")
            .only("id", "merchant_id", "sealed_card", "kek_version", "card_fingerprint")[:batch_size]
        )
        if not batch:
            return 0, set()
        progress.after = batch[-1].id
        failed = set()
        for payment_method in batch:
            try:
                _refresh(payment_method)
            except crypto.DecryptionFailed:
                failed.add(payment_method.id)
        batch = [payment_method for payment_method in batch if payment_method.id not in failed]
        if not batch:
            return 0, failed
        # One prepared UPDATE per row: bulk_update's CASE expressions cost more than the crypto here.
        with connection.cursor() as cursor:
            cursor.executemany(
                _UPDATE.format(table=connection.ops.quote_name(PaymentMethod._meta.db_table)),
                [(pm.sealed_card, pm.kek_version, pm.card_fingerprint, pm.id) for pm in batch],
            )
        audit_record(
            actor=actor,
            action=AuditAction.KEYS_REWRAP,
            object_type="kek",
            object_id=settings.VAULT_ACTIVE_KEK,
            details={"count": len(batch), "fingerprint_key": crypto.current_fingerprint_version()},
        )
    return len(batch), failed
