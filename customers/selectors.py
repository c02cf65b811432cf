"""Read customers, always within one merchant: another merchant's customer does not exist here."""

from django.db.models import QuerySet

from core import errors
from core.ids import is_global_id
from core.prepared import PreparedQuery
from customers.models import Customer
from merchants.models import Merchant


def _get(merchant_id: str, customer_id: str) -> QuerySet[Customer]:
    return Customer.objects.for_merchant(merchant_id).filter(id=customer_id).order_by("pk")


# Compiled once per process (core/prepared.py): a customer is read on most requests.
_GET = PreparedQuery(Customer, lambda *args: _get(*args)[:1], (str, str))
_GET_FOR_UPDATE = PreparedQuery(Customer, lambda *args: _get(*args).select_for_update()[:1], (str, str))


def customer_get(*, merchant: Merchant, customer_id: str, for_update: bool = False) -> Customer:
    """Return the merchant's live customer; 400 for a malformed id, 404 if absent, 400 IR_11 if redacted."""
    customer_id_check(customer_id)
    query = _GET_FOR_UPDATE if for_update else _GET
    return customer_found(query.first(getattr(merchant, "pk", merchant), customer_id))


def customer_id_check(customer_id: str) -> None:
    """400 for a malformed customer id, before any query."""
    if not is_global_id(customer_id):
        raise errors.InvalidRequest("Invalid customer id")


def customer_found(customer: Customer | None) -> Customer:
    """The customer a lookup found: 404 if none, 400 IR_11 if redacted."""
    if customer is None:
        raise errors.NotFound("Customer does not exist in our records")
    if customer.status == Customer.Status.REDACTED:
        raise errors.AlreadyRedacted("Customer has already been redacted")
    return customer


def customer_list(
    *, merchant: Merchant, offset: int, limit: int, merchant_reference_id: str | None = None
) -> list[Customer]:
    """Return a page of the merchant's live customers, newest first."""
    queryset = Customer.objects.for_merchant(merchant).filter(status=Customer.Status.ACTIVE)
    if merchant_reference_id is not None:
        queryset = queryset.filter(merchant_reference_id=merchant_reference_id)
    return list(queryset.order_by("-id")[offset : offset + limit])


def customer_get_by_reference(*, merchant: Merchant, merchant_reference_id: str) -> Customer:
    """Return the merchant's live customer with this reference id, or 404.

    A redacted customer gave its reference up (another may take it), so it is not found by it.
    """
    customer = (
        Customer.objects.for_merchant(merchant)
        .filter(merchant_reference_id=merchant_reference_id, status=Customer.Status.ACTIVE)
        .first()
    )
    if customer is None:
        raise errors.NotFound("Customer does not exist in our records")
    return customer


def customer_owned_by_another(*, merchant: Merchant, customer_id: str) -> bool:
    """Whether *customer_id* is another merchant's: a 404 that is a cross-merchant attempt (audited)."""
    return is_global_id(customer_id) and Customer.unscoped.filter(id=customer_id).exclude(merchant=merchant).exists()
