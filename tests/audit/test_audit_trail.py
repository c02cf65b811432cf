"""The audit trail is append-only and fails closed."""

import pytest
from django.db import DatabaseError

from audit import services as audit_services
from audit.models import AuditEvent
from customers.models import Customer
from tests.helpers.api import assert_error
from tests.helpers.customers import CUSTOMER_BODY, create_customer


def test_audit_rows_cannot_be_changed_or_deleted(api):
    create_customer(api)
    event = AuditEvent.objects.filter(action="customer.create").get()
    event.outcome = "failure"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().update(outcome="failure")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).outcome == "success"


@pytest.fixture
def audit_down(monkeypatch):
    """Make every audit insert fail, as a full disk or a revoked grant would."""

    def refuse(*args, **kwargs):
        raise DatabaseError("audit table unavailable")

    monkeypatch.setattr(audit_services._EVENTS, "statement", refuse)


def test_create_fails_when_the_audit_write_fails(api, audit_down):
    before = Customer.objects.count()
    assert_error(api.post("/customers", CUSTOMER_BODY), 503, "HE_00")
    assert Customer.objects.count() == before


def test_update_and_delete_fail_when_the_audit_write_fails(api, monkeypatch):
    customer = create_customer(api)

    def refuse(*args, **kwargs):
        raise DatabaseError("audit table unavailable")

    monkeypatch.setattr(audit_services._EVENTS, "statement", refuse)
    assert_error(api.put(f"/customers/{customer['id']}", {"name": "Changed"}), 503, "HE_00")
    assert_error(api.delete(f"/customers/{customer['id']}"), 503, "HE_00")
    monkeypatch.undo()
    assert api.get(f"/customers/{customer['id']}").json() == customer


def test_audit_outside_a_transaction_is_a_programming_error(transactional_db):
    from audit.actors import Actor
    from audit.services import audit_record

    with pytest.raises(RuntimeError):
        audit_record(actor=Actor(kind="system", id="t"), action="x")
