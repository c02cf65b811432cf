"""Create, update and redact customers. Each act is audited in the transaction of the act.

A customer's payment methods are not known here: updating the default payment method and deleting a
customer with its cards are orchestrated one floor up, in tokens/customer_services.py.
"""

from typing import Any

from django.db import IntegrityError, transaction

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_record
from core import errors
from core.ids import new_global_id
from customers.documents import document_valid
from customers.models import Customer
from merchants.models import Merchant, Profile

REDACTED = "Redacted"


def customer_document_check(document: dict[str, Any] | None) -> None:
    """Refuse an identity document whose number fails its type's check digits."""
    if document and not document_valid(document["document_type"], document["document_number"]):
        raise errors.InvalidValue("Invalid value provided:document_details")


def customer_create(*, actor: Actor, merchant: Merchant, profile: Profile, data: dict[str, Any]) -> Customer:
    """Create a customer; a reference id already used by a live customer → 400 IR_12."""
    customer_document_check(data.get("document_details"))
    try:
        with transaction.atomic():
            customer = Customer.objects.create(id=new_global_id("cus"), merchant=merchant, profile=profile, **data)
            audit_record(actor=actor, action=AuditAction.CUSTOMER_CREATE, object_type="customer", object_id=customer.id)
    except IntegrityError:
        # The reference id names a live customer already (perhaps created a moment ago by a concurrent
        # request): the unique constraint is the one check.
        raise errors.DuplicateCustomer() from None
    return customer


def customer_update(*, actor: Actor, customer: Customer, data: dict[str, Any]) -> Customer:
    """Apply the given fields to a live customer, locked by the caller's transaction."""
    customer_document_check(data.get("document_details"))
    for field, value in data.items():
        setattr(customer, field, value)
    customer.save()
    audit_record(
        actor=actor,
        action=AuditAction.CUSTOMER_UPDATE,
        object_type="customer",
        object_id=customer.id,
        details={"fields": sorted(data)},
    )
    return customer


def customer_redact(*, actor: Actor, customer: Customer) -> Customer:
    """Redact a customer locked by the caller's transaction: personal data replaced, addresses and
    metadata dropped, status redacted."""
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
    audit_record(actor=actor, action=AuditAction.CUSTOMER_DELETE, object_type="customer", object_id=customer.id)
    return customer
