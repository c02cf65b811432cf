"""Key rotation, in batches while reads and writes go on, at each level of the hierarchy:

- root: re-wrap merchant keys not under the active root key (one row per merchant: seconds);
- merchant: re-wrap the data keys of cards under a retired merchant key, and move values sealed
  before merchant keys existed (v1, under a legacy KEK) under their merchant's key;
- fingerprints: recompute those made with an older fingerprint key.

A recomputed fingerprint may meet a live payment method of the same customer that already carries
it: the same card vaulted twice while the older fingerprint key was missing, so the duplicate went
unnoticed. The older payment method is kept, the newer one is deleted (its card data destroyed, as a
delete does) with an audit reason, and the rotation goes on.
"""

from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Value
from django.db.models.functions import Left, StrIndex

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_record
from core.prepared import update_many
from customers.models import Customer
from tokens import crypto, merchant_keys
from tokens.custody import root_provider
from tokens.models import MerchantKey, PaymentMethod
from tokens.services import redact_payment_method


def _stale(merchant_id: str | None = None):
    """Records whose data key or fingerprint is not under the newest key: sealed before merchant keys
    (a legacy KEK), under a retired merchant key, or fingerprinted with an older fingerprint key."""
    legacy = ~Q(kek_version="")
    retired = Exists(
        MerchantKey.unscoped.filter(
            merchant_id=OuterRef("merchant_id"),
            version=OuterRef("merchant_key_version"),
            state=MerchantKey.State.RETIRED,
        )
    )
    old_fingerprint = Q(card_fingerprint__isnull=False) & ~Q(
        card_fingerprint__startswith=f"{crypto.current_fingerprint_version()}$"
    )
    records = PaymentMethod.unscoped.filter(legacy | Q(retired) | old_fingerprint)
    return records.filter(merchant_id=merchant_id) if merchant_id else records


def records_to_rewrap(merchant_id: str | None = None) -> int:
    return _stale(merchant_id).count()


def kek_versions_in_use() -> Counter:
    """How many stored records each legacy KEK version still wraps (values sealed before merchant keys)."""
    return Counter(PaymentMethod.unscoped.exclude(kek_version="").values_list("kek_version", flat=True))


def merchant_keys_by_root() -> Counter:
    """How many live merchant keys each root key (`provider:version`) wraps."""
    rows = MerchantKey.unscoped.exclude(state=MerchantKey.State.DESTROYED).values_list("root_provider", "root_version")
    return Counter(f"{provider}:{version}" for provider, version in rows)


def cards_under_retired_merchant_keys() -> int:
    retired = MerchantKey.unscoped.filter(
        merchant_id=OuterRef("merchant_id"), version=OuterRef("merchant_key_version"), state=MerchantKey.State.RETIRED
    )
    return PaymentMethod.unscoped.filter(Exists(retired)).count()


def fingerprint_versions_in_use() -> Counter:
    fingerprints = PaymentMethod.unscoped.filter(card_fingerprint__isnull=False).values_list(
        "card_fingerprint", flat=True
    )
    return Counter(value.split("$", 1)[0] for value in fingerprints)


def _refresh(payment_method: PaymentMethod) -> tuple[bool, bool]:
    """Bring one record under the newest keys; answer (fingerprint recomputed, data key re-wrapped)."""
    merchant_id, record_id = payment_method.merchant_id, payment_method.id
    fingerprint_version = crypto.current_fingerprint_version()
    refingerprinted = rewrapped = False
    if payment_method.card_fingerprint and not payment_method.card_fingerprint.startswith(f"{fingerprint_version}$"):
        secret = crypto.open_sealed(payment_method.sealed_card, merchant_id=merchant_id, record_id=record_id)
        payment_method.card_fingerprint = crypto.fingerprint(secret, merchant_id=merchant_id)
        refingerprinted = True
    if payment_method.kek_version or payment_method.merchant_key_version != merchant_keys.active_key(merchant_id)[0]:
        sealed = crypto.rewrap(payment_method.sealed_card, merchant_id=merchant_id, record_id=record_id)
        for column, value in sealed.columns().items():
            setattr(payment_method, column, value)
        rewrapped = True
    return refingerprinted, rewrapped


@dataclass
class RotationProgress:
    """Where a run has got to: records are visited in id order, so each batch starts after the last."""

    after: str = ""
    merchant_id: str | None = None  # only this merchant's records
    unreadable: set[str] = field(default_factory=set)
    rewrapped: int = 0  # data keys moved under the merchant's active key
    refingerprinted: int = 0  # fingerprints recomputed with the newest fingerprint key
    duplicates: list[str] = field(default_factory=list)  # newer payment methods deleted as duplicates


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


# What a batch writes back, with each column's PostgreSQL type.
_REWRAPPED = {
    "sealed_card": "text", "kek_version": "text", "merchant_key_version": "integer", "card_fingerprint": "text",
}  # fmt: skip
_DUPLICATE_STATUSES = (PaymentMethod.Status.ACTIVE, PaymentMethod.Status.INACTIVE)
# What a batch reads: the sealed value and keys, and what a duplicate's deletion needs.
_BATCH_FIELDS = (
    "id", "merchant_id", "customer_id", "storage_type", "status", "sealed_card", "kek_version",
    "merchant_key_version", "card_fingerprint",
    "network_token_ref", "network_token_status", "network_token_delete_pending",
)  # fmt: skip


def _counts_for_duplicates(payment_method: PaymentMethod) -> bool:
    """Whether the one-card-per-customer rule covers this record (see the model's constraint)."""
    return (
        payment_method.customer_id is not None
        and payment_method.storage_type == PaymentMethod.StorageType.PERSISTENT
        and payment_method.status in _DUPLICATE_STATUSES
    )


def _resolve_duplicates(*, actor: Actor, refingerprinted: list[PaymentMethod]) -> set[str]:
    """Delete the newer of each pair of one customer's payment methods that now share a fingerprint.

    Answers the ids of the records of this batch that were deleted (they are not to be updated).
    Ids are uuid7, so the smaller id is the older payment method.
    """
    deleted: set[str] = set()
    claimed: dict[tuple[str, str], PaymentMethod] = {}
    for payment_method in sorted(refingerprinted, key=lambda pm: pm.id):
        if not _counts_for_duplicates(payment_method):
            continue
        key = (payment_method.customer_id, payment_method.card_fingerprint)
        holder = claimed.get(key) or (
            PaymentMethod.unscoped.select_for_update()
            .filter(
                customer_id=payment_method.customer_id,
                card_fingerprint=payment_method.card_fingerprint,
                storage_type=PaymentMethod.StorageType.PERSISTENT,
                status__in=_DUPLICATE_STATUSES,
            )
            .exclude(pk=payment_method.pk)
            .first()
        )
        if holder is None:
            claimed[key] = payment_method
            continue
        kept, newer = (holder, payment_method) if holder.id < payment_method.id else (payment_method, holder)
        _delete_duplicate(actor=actor, newer=newer, kept=kept)
        deleted.add(newer.id)
        claimed[key] = kept
    return deleted


def _delete_duplicate(*, actor: Actor, newer: PaymentMethod, kept: PaymentMethod) -> None:
    redact_payment_method(newer)
    # A customer whose default was the duplicate keeps the same card as its default.
    Customer.unscoped.filter(pk=newer.customer_id, default_payment_method_id=newer.id).update(
        default_payment_method_id=kept.id
    )
    audit_record(
        actor=actor,
        action=AuditAction.PAYMENT_METHOD_DELETE,
        object_type="payment_method",
        object_id=newer.id,
        merchant_id=newer.merchant_id,
        details={"reason": "duplicate found by fingerprint rotation", "kept": kept.id},
    )


def _rewrap_once(*, actor: Actor, batch_size: int, progress: RotationProgress) -> tuple[int, set[str]]:
    with transaction.atomic():
        batch = list(
            _stale(progress.merchant_id)
            .filter(id__gt=progress.after)
            .select_for_update()
            .order_by("id")
            .only(*_BATCH_FIELDS)[:batch_size]
        )
        if not batch:
            return 0, set()
        progress.after = batch[-1].id
        failed: set[str] = set()
        refingerprinted: list[PaymentMethod] = []
        rewrapped: set[str] = set()
        for payment_method in batch:
            try:
                new_fingerprint, new_wrap = _refresh(payment_method)
            except crypto.DecryptionFailed:
                failed.add(payment_method.id)
                continue
            if new_fingerprint:
                refingerprinted.append(payment_method)
            if new_wrap:
                rewrapped.add(payment_method.id)
        duplicates = _resolve_duplicates(actor=actor, refingerprinted=refingerprinted)
        batch = [pm for pm in batch if pm.id not in failed and pm.id not in duplicates]
        progress.duplicates.extend(sorted(duplicates))
        progress.rewrapped += len(rewrapped - duplicates)
        progress.refingerprinted += sum(1 for pm in refingerprinted if pm.id not in duplicates)
        if not batch:
            return len(duplicates), failed
        update_many(PaymentMethod, "text", _REWRAPPED, [(pm.id, *(getattr(pm, c) for c in _REWRAPPED)) for pm in batch])
        audit_record(
            actor=actor,
            action=AuditAction.KEYS_REWRAP,
            object_type="payment_methods",
            object_id=progress.merchant_id or "",
            merchant_id=progress.merchant_id or "",
            details={"count": len(batch), "fingerprint_key": crypto.current_fingerprint_version()},
        )
    return len(batch), failed


def kek_versions_missing() -> list[str]:
    """VAULT_KEYRING versions that stored data needs but this instance lacks: legacy KEKs of cards
    sealed before merchant keys, and local root keys of live merchant keys. Those cards cannot be
    decrypted here. Two DISTINCTs, over an indexed column and the one-row-per-merchant key table."""
    legacy = PaymentMethod.unscoped.exclude(kek_version="").values_list("kek_version", flat=True).distinct()
    roots = (
        MerchantKey.unscoped.filter(root_provider="local")
        .exclude(state=MerchantKey.State.DESTROYED)
        .values_list("root_version", flat=True)
        .distinct()
    )
    return sorted((set(legacy) | set(roots)) - set(settings.VAULT_KEYRING))


@dataclass
class RootRotation:
    rewrapped: int = 0
    unreadable: list[str] = field(default_factory=list)  # merchant keys that did not open, as `merchant/version`


def rewrap_merchant_keys(*, actor: Actor, batch_size: int = 200) -> RootRotation:
    """Re-wrap every merchant key not under the active root key; the cards are not touched.

    Each batch is one transaction with its audit row; a key that does not open (its root version
    missing from the provider) is reported and passed over."""
    result = RootRotation()
    provider = root_provider()
    target = f"{provider.name}:{provider.active_version()}"
    after = 0
    while True:
        with transaction.atomic():
            batch = list(merchant_keys.keys_under_old_root().filter(pk__gt=after).select_for_update()[:batch_size])
            if not batch:
                return result
            after = batch[-1].pk
            done = 0
            for row in batch:
                try:
                    merchant_keys.rewrap_under_active_root(row)
                except crypto.DecryptionFailed:
                    result.unreadable.append(f"{row.merchant_id}/{row.version}")
                    continue
                done += 1
            if done:
                audit_record(
                    actor=actor,
                    action=AuditAction.KEYS_ROOT_REWRAP,
                    object_type="root_key",
                    # A KMS key ARN is longer than the object id column holds; the details keep it whole.
                    object_id=provider.name,
                    details={"count": done, "root_key": target},
                )
            result.rewrapped += done


def rotate_merchant_key(*, actor: Actor, merchant_id: str) -> int:
    """Make a new key the merchant's active one (its cards are re-wrapped by `rewrap_batch`); answer
    the new version."""
    with transaction.atomic():
        new, retired = merchant_keys.rotate_merchant_key(merchant_id)
        audit_record(
            actor=actor,
            action=AuditAction.KEYS_MERCHANT_ROTATE,
            object_type="merchant_key",
            object_id=str(new.version),
            merchant_id=merchant_id,
            details={
                "retired": retired.version if retired else None,
                "root_key": f"{new.root_provider}:{new.root_version}",
            },
        )
    return new.version


def fingerprint_versions_missing() -> list[str]:
    """Fingerprint key versions stored cards carry but this instance lacks: vaulting those cards again
    would go unrecognised and make duplicates. A scan of the fingerprints: for start-up and for a
    readiness check cached a minute, not for every request."""
    prefix = Left("card_fingerprint", StrIndex("card_fingerprint", Value("$")) - 1)
    stored = (
        PaymentMethod.unscoped.filter(card_fingerprint__isnull=False)
        .annotate(version=prefix)
        .values_list("version", flat=True)
        .distinct()
    )
    return sorted(set(stored) - set(settings.VAULT_FINGERPRINT_KEYS))


def keyring_startup_problem() -> str | None:
    """Why this instance must not start with its keyring, in one line; None when it may.

    VAULT_ALLOW_MISSING_KEKS=true lets an operator start it anyway (to serve the other cards while
    the key is being restored); readiness keeps naming the missing versions meanwhile.
    """
    if settings.VAULT_ALLOW_MISSING_KEKS:
        return None
    missing = []
    if keks := kek_versions_missing():
        missing.append(f"KEK version(s) {', '.join(keks)} (VAULT_KEYRING)")
    if fingerprint_keys := fingerprint_versions_missing():
        missing.append(f"fingerprint key version(s) {', '.join(fingerprint_keys)} (VAULT_FINGERPRINT_KEYS)")
    if not missing:
        return None
    return (
        f"refusing to start: stored cards need {' and '.join(missing)}, missing from this instance; restore the "
        "key(s), or set VAULT_ALLOW_MISSING_KEKS=true to start anyway"
    )
