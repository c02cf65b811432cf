"""Refused API requests in the audit trail: one row per key (or address), refusal and minute, with a count."""

import time

from audit.access_failures import count_refusal, flush_closed_windows
from audit.models import AccessFailureWindow, AuditEvent
from merchants.scopes import CUSTOMERS_READ
from tests.helpers.api import VaultClient
from tests.helpers.customers import create_customer
from tests.helpers.tenants import issue_key


def next_minute() -> float:
    """A moment after the current minute is over (computed when asked: a suite runs for minutes)."""
    return time.time() + 120


def refused_rows() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="api.access_refused").order_by("id"))


def test_a_flood_of_bad_keys_adds_one_row_per_minute_with_its_count(db, tenant):
    unknown = VaultClient("vlt_abcdefgh12345678_" + "x" * 43, tenant.profile.pk)
    for _ in range(50):
        assert unknown.get("/customers").status_code == 401
    garbage = VaultClient("not-a-key", tenant.profile.pk)
    for _ in range(5):
        assert garbage.get("/customers").status_code == 401
    assert refused_rows() == []  # counted, not yet written: the minute is not over
    assert flush_closed_windows(now=next_minute()) == 2
    by_subject = {row.details["subject"]: row for row in refused_rows()}
    key_row, address_row = by_subject["key"], by_subject["address"]
    assert (key_row.actor_id, key_row.details["count"], key_row.details["status"]) == ("abcdefgh12345678", 50, 401)
    assert key_row.outcome == "denied" and key_row.origin == "127.0.0.1"
    assert (address_row.actor_id, address_row.details["count"]) == ("unknown", 5)
    assert AccessFailureWindow.objects.count() == 0
    assert "not-a-key" not in str(list(AuditEvent.objects.values()))


def test_a_missing_scope_and_a_cross_merchant_lookup_are_counted_against_the_key(db, api, tenant, other_api):
    reader_key = issue_key(tenant, key_scopes=[CUSTOMERS_READ])
    reader = VaultClient(reader_key, tenant.profile.pk)
    assert reader.post("/customers", {"name": "x"}).status_code == 403
    theirs = create_customer(other_api)
    assert api.get(f"/customers/{theirs['id']}").status_code == 404
    assert api.get("/customers/12345678901234567890123456789012").status_code in (400, 404)  # nobody's: not counted
    flush_closed_windows(now=next_minute())
    rows = {row.details["status"]: row for row in refused_rows()}
    assert set(rows) == {403, 404}
    assert rows[403].actor_id == reader_key.split("_")[1]
    assert rows[404].actor_id == tenant.api_key.key_id and rows[404].merchant_id == tenant.merchant.pk
    assert rows[404].details["count"] == 1


def test_the_next_refusal_after_the_minute_writes_the_closed_window(db):
    start = time.time()
    for _ in range(3):
        count_refusal(key_id="k1", origin="198.51.100.1", code="IR_01", status=401, now=start)
    count_refusal(key_id="k1", origin="198.51.100.1", code="IR_01", status=401, now=start + 61)
    [row] = refused_rows()
    assert row.details["count"] == 3 and row.origin == "198.51.100.1"
    assert AccessFailureWindow.objects.get().count == 1
