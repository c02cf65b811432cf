"""What a refused request must leave unchanged, read from the database."""

from audit.actions import AuditAction
from audit.models import AuditEvent
from customers.models import Customer
from tokens.models import PaymentMethod


def audited_acts() -> int:
    """Audit events other than the per-minute counts of refused requests: those are written when a
    minute closes, so a test that runs across a minute boundary sees one appear by design."""
    return AuditEvent.objects.exclude(action=AuditAction.API_ACCESS_REFUSED).count()


def stored_counts() -> tuple[int, int]:
    """(customers, audit events)."""
    return Customer.objects.count(), audited_acts()


def stored_rows() -> tuple[list[dict], list[dict], int]:
    """Every customer and payment-method row in full, and the number of audit events."""
    return (
        list(Customer.objects.order_by("id").values()),
        list(PaymentMethod.objects.order_by("id").values()),
        audited_acts(),
    )
