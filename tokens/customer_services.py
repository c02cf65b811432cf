"""Customer acts that reach into payment methods: a new default must be one of the customer's own
active payment methods, and deleting a customer deletes every card it has.

They live here, one floor above customers/, because the payment-methods app is the one that knows
both; customers/services.py does the customer's own part inside the same transaction.
"""

from typing import Any

from django.db import transaction

from audit.actors import Actor
from core import errors
from customers import services as customer_services
from customers.models import Customer
from customers.selectors import customer_get
from merchants.models import Merchant
from tokens.generic_token_services import generic_tokens_delete_for_customer
from tokens.models import PaymentMethod
from tokens.selectors import payment_method_get, payment_method_lookup
from tokens.services import payment_methods_delete_for_customer


def _check_default_payment_method(customer: Customer, payment_method_id: str) -> None:
    """The default must be an active payment method of this very customer."""
    try:
        payment_method = payment_method_get(merchant=customer.merchant, payment_method_id=payment_method_id)
    except (errors.NotFound, errors.InvalidRequest):
        payment_method = None
    if payment_method is None or payment_method.customer_id != customer.id:
        raise errors.PreconditionFailed("The payment_method_id is not valid")


def customer_update(*, actor: Actor, merchant: Merchant, customer_id: str, data: dict[str, Any]) -> Customer:
    """Apply the given fields to a live customer of *merchant*."""
    customer_services.customer_document_check(data.get("document_details"))
    with transaction.atomic():
        customer = customer_get(merchant=merchant, customer_id=customer_id, for_update=True)
        if data.get("default_payment_method_id") is not None:
            _check_default_payment_method(customer, data["default_payment_method_id"])
        return customer_services.customer_update(actor=actor, customer=customer, data=data)


def customer_delete(*, actor: Actor, merchant: Merchant, customer_id: str) -> Customer:
    """Redact a customer of *merchant* and delete every payment method it has, in one transaction.

    Their network tokens are marked for deletion; the worker deletes them at the token service.
    """
    with transaction.atomic():
        customer = customer_get(merchant=merchant, customer_id=customer_id, for_update=True)
        payment_methods_delete_for_customer(actor=actor, customer=customer)
        generic_tokens_delete_for_customer(actor=actor, customer=customer)
        customer_services.customer_redact(actor=actor, customer=customer)
    return customer


def customer_set_default_payment_method(
    *, actor: Actor, merchant: Merchant, customer_id: str, payment_method_id: str
) -> tuple[Customer, PaymentMethod]:
    """Make one of the customer's active payment methods its default, as upstream's set-default.

    Another merchant's payment method is 404 like a missing one; another customer's, one that is not
    active, or the default already → 400 IR_16 with upstream's messages.
    """
    with transaction.atomic():
        customer = customer_get(merchant=merchant, customer_id=customer_id, for_update=True)
        payment_method = payment_method_lookup(merchant=merchant, payment_method_id=payment_method_id)
        if payment_method.customer_id != customer.id:
            raise errors.PreconditionFailed("The payment_method_id is not valid")
        if payment_method.status != PaymentMethod.Status.ACTIVE:
            raise errors.PreconditionFailed("The payment_method is not active")
        if customer.default_payment_method_id == payment_method.id:
            raise errors.PreconditionFailed("Payment Method is already set as default")
        customer = customer_services.customer_update(
            actor=actor, customer=customer, data={"default_payment_method_id": payment_method.id}
        )
    return customer, payment_method
