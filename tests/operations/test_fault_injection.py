"""Injected faults: storage, key provider and audit fail with probability 0.2 under a fixed seed.

As HashiCorp Vault tests it: every answer is either a success with everything written and audited,
or a failure with nothing written (and no card data in the answer).
"""

import random

import pytest
from django.db import OperationalError

from audit import services as audit_services
from audit.models import AuditEvent
from merchants import scopes
from tests.helpers.api import VaultClient
from tests.helpers.customers import create_customer
from tests.helpers.payment_methods import card_body, card_number
from tests.helpers.tenants import issue_key
from tokens import crypto
from tokens import services as token_services
from tokens.keys import KeyProviderUnavailable
from tokens.models import PaymentMethod

FAULT_RATE = 0.2
SEED = 20261125
CREATES = READS = 500


class Faults:
    def __init__(self, monkeypatch) -> None:
        self.random = random.Random(SEED)
        self.armed = False
        self.injected = {"storage": 0, "key provider": 0, "audit": 0}
        real_create_pm = token_services._INSERT.statement
        real_create_audit = audit_services._EVENTS.statement
        real_provider = crypto.key_provider

        def storage(*args, **kwargs):
            self.maybe_fail("storage", OperationalError("injected: database unavailable"))
            return real_create_pm(*args, **kwargs)

        def audit(*args, **kwargs):
            self.maybe_fail("audit", OperationalError("injected: audit table unavailable"))
            return real_create_audit(*args, **kwargs)

        def provider():
            self.maybe_fail("key provider", KeyProviderUnavailable("injected: key provider unavailable"))
            return real_provider()

        monkeypatch.setattr(token_services._INSERT, "statement", storage)
        monkeypatch.setattr(audit_services._EVENTS, "statement", audit)
        monkeypatch.setattr(crypto, "key_provider", provider)

    def maybe_fail(self, seam: str, error: Exception) -> None:
        if self.armed and self.random.random() < FAULT_RATE:
            self.injected[seam] += 1
            raise error


@pytest.mark.slow
def test_every_answer_is_all_or_nothing_under_injected_faults(tenant, monkeypatch):
    api = VaultClient(issue_key(tenant, key_scopes=list(scopes.ALL_SCOPES)), tenant.profile.id)
    customer = create_customer(api)
    faults = Faults(monkeypatch)
    faults.armed = True

    created: dict[str, str] = {}
    failed_creates = 0
    for index in range(CREATES):
        number = card_number(index, prefix="5105")
        response = api.post("/payment_methods", card_body(customer["id"], number))
        assert response["Content-Type"] == "application/json"
        if response.status_code == 200:
            created[response.json()["id"]] = number
        else:
            assert response.status_code == 503, response.content
            assert number not in response.content.decode()
            failed_creates += 1

    faults.armed = False
    # Nothing half-written: exactly the acknowledged rows exist, each audited once and decrypting.
    rows = {row.id: row for row in PaymentMethod.objects.filter(customer_id=customer["id"])}
    assert set(rows) == set(created)
    audited = AuditEvent.objects.filter(action="payment_method.create", object_id__in=list(created))
    assert audited.count() == len(created)
    for pm_id, number in created.items():
        secret = crypto.open_sealed(rows[pm_id].sealed_card, merchant_id=tenant.merchant.id, record_id=pm_id)
        assert secret.number == number

    faults.armed = True
    ids = list(created)
    reveals = {"ok": 0, "failed": 0}
    for index in range(READS):
        pm_id = ids[index % len(ids)]
        before = AuditEvent.objects.filter(action="payment_method.reveal", outcome="success").count()
        response = api.get(f"/payment_methods/{pm_id}?fetch_raw_detail=true")
        after = AuditEvent.objects.filter(action="payment_method.reveal", outcome="success").count()
        if response.status_code == 200:
            assert response.json()["raw_payment_method_data"]["card"]["card_number"] == created[pm_id]
            assert after == before + 1
            reveals["ok"] += 1
        else:
            assert response.status_code in (500, 503), response.content
            assert created[pm_id] not in response.content.decode()
            assert after == before
            reveals["failed"] += 1

    assert failed_creates > 0 and reveals["failed"] > 0 and all(faults.injected.values()), faults.injected
    print(f"creates ok={len(created)} failed={failed_creates}; reads {reveals}; injected {faults.injected}")  # noqa: T201
