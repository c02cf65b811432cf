"""What a refused request must leave unchanged, read from the database."""

from audit.models import AuditEvent
from customers.models import Customer
from tokens.models import PaymentMethod


def stored_counts() -> tuple[int, int]:
    """(customers, audit events)."""
    return Customer.objects.count(), AuditEvent.objects.count()


def stored_rows() -> tuple[list[dict], list[dict], int]:
    """Every customer and payment-method row in full, and the number of audit events."""
    return (
        list(Customer.objects.order_by("id").values()),
        list(PaymentMethod.objects.order_by("id").values()),
        AuditEvent.objects.count(),
    )
