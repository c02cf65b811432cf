"""Key rotation: re-wrap data keys under the active KEK, in batches, while reads go on."""

from collections import Counter

from django.conf import settings
from django.db import transaction

from audit.actors import Actor
from audit.services import audit_record
from tokens import crypto
from tokens.models import PaymentMethod


def _stale():
    return PaymentMethod.objects.exclude(kek_version="").exclude(kek_version=settings.VAULT_ACTIVE_KEK)


def records_to_rewrap() -> int:
    return _stale().count()


def kek_versions_in_use() -> Counter:
    """How many stored records each KEK version wraps."""
    rows = PaymentMethod.objects.exclude(kek_version="").values_list("kek_version", flat=True)
    return Counter(rows)


def rewrap_batch(*, actor: Actor, batch_size: int) -> int:
    """Re-wrap up to *batch_size* records not yet under the active KEK; return how many were done.

    Each batch is one transaction with its audit event, so an interrupted run resumes where it stopped.
    """
    with transaction.atomic():
        batch = list(
            _stale()
            .select_for_update()
            .order_by("id")
            .only("id", "merchant_id", "sealed_card", "kek_version")[:batch_size]
        )
        if not batch:
            return 0
        for payment_method in batch:
            sealed = crypto.rewrap(
                payment_method.sealed_card, merchant_id=payment_method.merchant_id, record_id=payment_method.id
            )
            payment_method.sealed_card, payment_method.kek_version = sealed.value, sealed.kek_version
        PaymentMethod.objects.bulk_update(batch, ["sealed_card", "kek_version"])
        audit_record(
            actor=actor,
            action="keys.rewrap",
            object_type="kek",
            object_id=settings.VAULT_ACTIVE_KEK,
            details={"count": len(batch)},
        )
    return len(batch)
