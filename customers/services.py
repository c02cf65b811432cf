"""Create, update and redact customers. Each act is audited in its own transaction."""

from typing import Any

from django.db import IntegrityError, transaction

from audit.actors import Actor
from audit.services import audit_record
from core import errors
from core.ids import new_global_id
from customers.documents import document_valid
from customers.models import Customer
from customers.selectors import customer_get
from merchants.models import Merchant, Profile
from tokens.network.services import network_tokens_delete_at_provider
from tokens.selectors import payment_method_get
from tokens.services import payment_methods_delete_for_customer

REDACTED = "Redacted"


def _check_document(document: dict[str, Any] | None) -> None:
    if document and not document_valid(document["document_type"], document["document_number"]):
        raise errors.InvalidValue("Invalid value provided:document_details")


def _check_default_payment_method(customer: Customer, payment_method_id: str) -> None:
    """The default must be an active payment method of this very customer."""
    try:
        payment_method = payment_method_get(merchant=customer.merchant, payment_method_id=payment_method_id)
    except (errors.NotFound, errors.InvalidRequest):
        payment_method = None
    if payment_method is None or payment_method.customer_id != customer.id:
        raise errors.PreconditionFailed("The payment_method_id is not valid")


def customer_create(*, actor: Actor, merchant: Merchant, profile: Profile, data: dict[str, Any]) -> Customer:
    """Create a customer; a reference id already used by a live customer → 400 IR_12."""
    _check_document(data.get("document_details"))
    try:
        with transaction.atomic():
            customer = Customer.objects.create(id=new_global_id("cus"), merchant=merchant, profile=profile, **data)
            audit_record(actor=actor, action="customer.create", object_type="customer", object_id=customer.id)
    except IntegrityError:
        # The reference id names a live customer already (perhaps created a moment ago by a concurrent
        # request): the unique constraint is the one check.
        raise errors.DuplicateCustomer() from None
    return customer


def customer_update(*, actor: Actor, merchant: Merchant, customer_id: str, data: dict[str, Any]) -> Customer:
    """Apply the given fields to a live customer."""
    _check_document(data.get("document_details"))
    with transaction.atomic():
        customer = customer_get(merchant=merchant, customer_id=customer_id, for_update=True)
        if data.get("default_payment_method_id") is not None:
            _check_default_payment_method(customer, data["default_payment_method_id"])
        for field, value in data.items():
            setattr(customer, field, value)
        customer.save()
        audit_record(
            actor=actor,
            action="customer.update",
            object_type="customer",
            object_id=customer.id,
            details={"fields": sorted(data)},
        )
    return customer


def customer_delete(*, actor: Actor, merchant: Merchant, customer_id: str) -> Customer:
    """Redact a customer: personal data replaced, addresses and metadata dropped, status redacted."""
    with transaction.atomic():
        customer = customer_get(merchant=merchant, customer_id=customer_id, for_update=True)
        tokens_to_delete = payment_methods_delete_for_customer(actor=actor, customer=customer)
        for field in ("name", "email", "phone", "phone_country_code", "description", "tax_registration_id"):
            setattr(customer, field, REDACTED)
        for field in (
            "default_billing_address",
            "default_shipping_address",
            "metadata",
            "document_details",
            "connector_customer_ids",
            "default_payment_method_id",
        ):
            setattr(customer, field, None)
        customer.status = Customer.Status.REDACTED
        customer.save()
        audit_record(actor=actor, action="customer.delete", object_type="customer", object_id=customer.id)
    # Outside the transaction: the token service is slow compared to the database.
    network_tokens_delete_at_provider(tokens_to_delete)
    return customer
