"""Read payment methods, always within one merchant. Expired volatile ones no longer exist."""

from datetime import datetime
from functools import cache
from typing import Any

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from core import errors
from core.ids import is_global_id
from core.prepared import PreparedQuery
from customers.models import Customer
from customers.selectors import customer_found, customer_get, customer_id_check
from merchants.models import Merchant
from tokens.models import MerchantKey, PaymentMethod


def _live() -> Q:
    return Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())


def _lookup(merchant_id: str, payment_method_id: str, now: datetime) -> QuerySet[PaymentMethod]:
    live = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    return PaymentMethod.objects.for_merchant(merchant_id).filter(live, id=payment_method_id).order_by("pk")


# Every read of one payment method goes through these: compiled once per process (core/prepared.py).
_LOOKUP = PreparedQuery(PaymentMethod, lambda *args: _lookup(*args)[:1], (str, str, datetime))
_LOOKUP_FOR_UPDATE = PreparedQuery(
    PaymentMethod, lambda *args: _lookup(*args).select_for_update()[:1], (str, str, datetime)
)


def payment_method_lookup(*, merchant: Merchant, payment_method_id: str, for_update: bool = False) -> PaymentMethod:
    """Return the merchant's payment method in any status (for update and delete), or raise 404."""
    if not is_global_id(payment_method_id):
        raise errors.InvalidRequest("Invalid payment method id")
    query = _LOOKUP_FOR_UPDATE if for_update else _LOOKUP
    payment_method = query.first(getattr(merchant, "pk", merchant), payment_method_id, timezone.now())
    if payment_method is None:
        raise errors.NotFound("Payment method does not exist in our records")
    return payment_method


def payment_method_get(*, merchant: Merchant, payment_method_id: str) -> PaymentMethod:
    """Return the merchant's active payment method; inactive, deleted or expired ones are 404."""
    payment_method = payment_method_lookup(merchant=merchant, payment_method_id=payment_method_id)
    if payment_method.status != PaymentMethod.Status.ACTIVE:
        raise errors.NotFound("Payment method does not exist in our records")
    return payment_method


def _page(merchant_id: str, customer_id: str, now: datetime, offset: int, limit: int) -> QuerySet[PaymentMethod]:
    live = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    return (
        PaymentMethod.objects.for_merchant(merchant_id)
        .filter(live, customer_id=customer_id, status=PaymentMethod.Status.ACTIVE)
        # The customer's own columns, joined: its state and default card come with the page.
        .annotate(customer_status=F("customer__status"), customer_default_id=F("customer__default_payment_method_id"))
        .order_by("-id")[offset : offset + limit]
    )


@cache
def _first_page(limit: int) -> PreparedQuery[PaymentMethod]:
    """The first page of this size, compiled once per process (sizes are bounded by the list limit)."""
    return PreparedQuery(
        PaymentMethod, lambda merchant_id, customer_id, now: _page(merchant_id, customer_id, now, 0, limit),
        (str, str, datetime),
    )  # fmt: skip


def saved_payment_methods(
    *, merchant: Merchant, customer_id: str, offset: int, limit: int, max_limit: int
) -> tuple[list[PaymentMethod], str | None]:
    """A page of the customer's active payment methods, newest first, and the customer's default
    payment method id; `customer_get`'s errors for a malformed, unknown or redacted customer. One
    query when the page holds a card (the customer comes joined to it); a second, to look at the
    customer, when it is empty."""
    customer_id_check(customer_id)
    limit = min(limit, max_limit)
    now = timezone.now()
    if offset == 0:
        page = _first_page(limit).fetch(merchant.pk, customer_id, now)
    else:
        page = list(_page(merchant.pk, customer_id, now, offset, limit))
    if not page or page[0].customer_status == Customer.Status.REDACTED:  # type: ignore[attr-defined]
        return [], customer_get(merchant=merchant, customer_id=customer_id).default_payment_method_id
    return page, page[0].customer_default_id  # type: ignore[attr-defined]


def _duplicates(merchant_id: str, customer: Any, fingerprints: tuple[str, ...]) -> QuerySet[PaymentMethod]:
    """A customer's live persistent payment methods for the same card (any of its fingerprints)."""
    return PaymentMethod.objects.for_merchant(merchant_id).filter(
        customer_id=customer,
        card_fingerprint__in=fingerprints,
        storage_type=PaymentMethod.StorageType.PERSISTENT,
        status__in=[PaymentMethod.Status.ACTIVE, PaymentMethod.Status.INACTIVE],
    )


def _duplicate(fingerprint_count: int) -> PreparedQuery[PaymentMethod]:
    """The duplicate lookup for this many fingerprints (one; two while a fingerprint key rotates)."""
    if fingerprint_count not in _DUPLICATE:

        def build(merchant_id: str, customer_id: str, *fingerprints: str) -> QuerySet[PaymentMethod]:
            return _duplicates(merchant_id, customer_id, fingerprints).order_by("pk")[:1]

        _DUPLICATE[fingerprint_count] = PreparedQuery(PaymentMethod, build, (str,) * (2 + fingerprint_count))
    return _DUPLICATE[fingerprint_count]


def _customer_with_duplicate(fingerprint_count: int) -> PreparedQuery[Customer]:
    """The customer, annotated with the id of its payment method for the same card, if any."""
    if fingerprint_count not in _CUSTOMER_WITH_DUPLICATE:

        def build(merchant_id: str, customer_id: str, *fingerprints: str) -> QuerySet[Customer]:
            duplicate = _duplicates(merchant_id, OuterRef("pk"), fingerprints).order_by("pk").values("pk")[:1]
            return (
                Customer.objects.for_merchant(merchant_id)
                .filter(id=customer_id)
                .annotate(duplicate_id=Subquery(duplicate))
                .order_by("pk")[:1]
            )

        _CUSTOMER_WITH_DUPLICATE[fingerprint_count] = PreparedQuery(Customer, build, (str,) * (2 + fingerprint_count))
    return _CUSTOMER_WITH_DUPLICATE[fingerprint_count]


_DUPLICATE: dict[int, PreparedQuery[PaymentMethod]] = {}
_CUSTOMER_WITH_DUPLICATE: dict[int, PreparedQuery[Customer]] = {}


def payment_method_duplicate(*, customer: Customer, fingerprints: list[str]) -> PaymentMethod | None:
    """The customer's live persistent payment method for the same card (any of its fingerprints), if any."""
    return _duplicate(len(fingerprints)).first(customer.merchant_id, customer.id, *fingerprints)


def customer_and_duplicate(
    *, merchant: Merchant, customer_id: str, fingerprints: list[str]
) -> tuple[Customer, PaymentMethod | None]:
    """The merchant's live customer (400, 404 or IR_11 as `customer_get`) and its live persistent
    payment method for the same card, if any: one query while the card is new to the customer, the
    usual case, and a second to read the duplicate when it is not."""
    customer_id_check(customer_id)
    found = _customer_with_duplicate(len(fingerprints)).first(merchant.pk, customer_id, *fingerprints)
    customer = customer_found(found)
    if customer.duplicate_id is None:  # type: ignore[attr-defined]
        return customer, None
    return customer, payment_method_duplicate(customer=customer, fingerprints=fingerprints)


def payment_method_by_token_ref(*, token_ref: str, for_update: bool = False) -> PaymentMethod | None:
    """The payment method holding a network token. Not merchant-scoped: only the token service,
    authenticated by its webhook signature, names tokens this way, and token refs are unique."""
    queryset = PaymentMethod.unscoped.filter(network_token_ref=token_ref)
    if for_update:
        queryset = queryset.select_for_update()
    return queryset.first()


def payment_methods_count(*, merchant: Merchant) -> int:
    """How many active, unexpired payment methods the merchant holds: one COUNT query."""
    return PaymentMethod.objects.for_merchant(merchant).filter(_live(), status=PaymentMethod.Status.ACTIVE).count()


def payment_method_owned_by_another(*, merchant: Merchant, payment_method_id: str) -> bool:
    """Whether *payment_method_id* is another merchant's: a 404 that is a cross-merchant attempt (audited)."""
    return (
        is_global_id(payment_method_id)
        and PaymentMethod.unscoped.filter(id=payment_method_id).exclude(merchant=merchant).exists()
    )


def stored_records_by_key_version() -> dict[str, int]:
    """Payment methods by the key that wraps their data key: a legacy keyring version, or "merchant_key"
    for the hierarchy. One GROUP BY over an indexed column, for the metrics scrape."""
    counts = PaymentMethod.unscoped.values("kek_version").annotate(total=Count("id"))
    return {row["kek_version"] or "merchant_key": row["total"] for row in counts}


def merchant_keys_by_root() -> list[tuple[str, str, str, int]]:
    """Merchant keys by (root provider, root key version, state), with how many: a row per version."""
    rows = MerchantKey.unscoped.values("root_provider", "root_version", "state").annotate(total=Count("id"))
    return [(row["root_provider"], row["root_version"], row["state"], row["total"]) for row in rows]
