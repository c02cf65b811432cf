"""The payment-methods API through the HTTP client: vault, retrieve, reveal, update, delete, list."""

import re
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from api.customers.views import CustomerViewSet
from api.payment_methods.views import PaymentMethodViewSet
from audit import services as audit_services
from audit.models import AuditEvent
from core.logging import redact
from merchants import scopes
from tests.helpers.api import VaultClient, assert_error
from tests.helpers.customers import create_customer
from tests.helpers.payment_methods import VISA, card_body, card_number, create_payment_method
from tests.helpers.routes import path_for, spellings
from tests.helpers.tenants import issue_key, make_tenant
from tests.helpers.upstream import assert_matches_upstream
from tokens import merchant_keys
from tokens.models import MerchantKey, PaymentMethod

RESPONSE_KEYS = {
    "id", "merchant_id", "customer_id", "payment_method_type", "payment_method_subtype", "recurring_enabled",
    "created", "last_used_at", "payment_method_data", "connector_tokens", "network_token", "storage_type",
    "card_cvc_token_storage", "network_transaction_id", "raw_payment_method_data", "billing", "acknowledgement_status",
}  # fmt: skip
MASKED_CARD_KEYS = {
    "issuer_country", "last4_digits", "expiry_month", "expiry_year", "card_holder_name", "card_fingerprint",
    "nick_name", "card_network", "card_isin", "card_issuer", "card_type", "saved_to_locker",
}  # fmt: skip


@pytest.fixture
def customer(api):
    return create_customer(api, merchant_reference_id="pm-owner")


@pytest.fixture
def revealer(tenant):
    return VaultClient(issue_key(tenant, key_scopes=list(scopes.ALL_SCOPES)), tenant.profile.id)


@pytest.mark.parametrize("spelling", spellings())
def test_create_answers_the_masked_card(api, tenant, customer, spelling):
    body = card_body(customer["id"], card_cvc="123", nick_name="work card", card_issuing_country="US")
    body["billing"] = {"address": {"city": "Lisbon", "country": "PT"}, "email": "ada@example.com"}
    body["metadata"] = {"order": "A-1"}
    response = api.post(path_for(PaymentMethodViewSet, "create", spelling), body)
    assert response.status_code == 200, response.content
    pm = response.json()
    assert set(pm) == RESPONSE_KEYS
    assert re.fullmatch(r"01_pm_[0-9a-f]{32}", pm["id"])
    assert pm["merchant_id"] == tenant.merchant.id and pm["customer_id"] == customer["id"]
    assert (pm["payment_method_type"], pm["payment_method_subtype"], pm["storage_type"]) == (
        "card",
        "credit",
        "persistent",
    )
    assert pm["created"] == pm["last_used_at"] and pm["created"].endswith("Z")
    card = pm["payment_method_data"]["card"]
    assert set(card) == MASKED_CARD_KEYS
    assert card["last4_digits"] == "4242" and card["card_isin"] == "4242"
    assert (card["expiry_month"], card["expiry_year"]) == ("12", "2035")
    assert card["card_network"] == "Visa" and card["issuer_country"] == "US" and card["nick_name"] == "work card"
    assert re.fullmatch(r"1\$[0-9a-f]{64}", card["card_fingerprint"]) and card["saved_to_locker"] is True
    assert pm["raw_payment_method_data"] is None and pm["network_token"] is None
    # The CVC sent is kept for the proxy until used once or expired: its storage is said, never its value.
    assert set(pm["card_cvc_token_storage"]) == {"is_stored", "expires_at"}
    assert pm["billing"]["address"]["city"] == "Lisbon" and pm["billing"]["email"] == "ada@example.com"
    assert VISA not in response.content.decode() and '"123"' not in response.content.decode()
    if spelling != "short":
        assert_matches_upstream(pm, "PaymentMethodResponse")


def test_the_network_is_detected_or_taken_as_given(api, customer):
    assert (
        create_payment_method(api, customer["id"], "5555555555554444")["payment_method_data"]["card"]["card_network"]
        == "Mastercard"
    )
    given = create_payment_method(api, customer["id"], card_number(1), card_network="VISA")
    assert given["payment_method_data"]["card"]["card_network"] == "Visa"
    amex = create_payment_method(api, customer["id"], "378282246310005")
    assert amex["payment_method_data"]["card"]["last4_digits"] == "0005"


@pytest.mark.parametrize("spelling", spellings())
def test_retrieve_answers_what_create_answered(api, customer, spelling):
    created = create_payment_method(api, customer["id"])
    response = api.get(path_for(PaymentMethodViewSet, "retrieve", spelling, "GET", payment_method_id=created["id"]))
    assert response.status_code == 200 and response.json() == created


def test_retrieve_by_post_as_the_product_documents(api, customer):
    created = create_payment_method(api, customer["id"])
    assert api.post(f"/payment_methods/{created['id']}").json() == created


def test_the_same_card_for_the_same_customer_is_one_payment_method(api, customer):
    first = create_payment_method(api, customer["id"], card_holder_name="A")
    again = create_payment_method(api, customer["id"], number=f"{VISA[:4]} {VISA[4:8]} {VISA[8:12]} {VISA[12:]}")
    assert again["id"] == first["id"]
    renewed = create_payment_method(api, customer["id"], card_exp_month="01", card_exp_year="2040")
    assert renewed["id"] == first["id"]
    card = renewed["payment_method_data"]["card"]
    assert (card["expiry_month"], card["expiry_year"]) == ("01", "2040")
    assert api.get(f"/payment_methods/{first['id']}").json()["payment_method_data"]["card"]["expiry_year"] == "2040"
    assert PaymentMethod.objects.count() == 1


def test_the_same_card_for_another_customer_is_another_payment_method(api, customer):
    other = create_customer(api, merchant_reference_id="second")
    first = create_payment_method(api, customer["id"])
    second = create_payment_method(api, other["id"])
    assert first["id"] != second["id"]
    # Fingerprints are per merchant, not per customer.
    assert (
        first["payment_method_data"]["card"]["card_fingerprint"]
        == second["payment_method_data"]["card"]["card_fingerprint"]
    )


def test_fingerprints_differ_between_merchants(api, other_api, customer):
    mine = create_payment_method(api, customer["id"])
    theirs = create_payment_method(other_api, create_customer(other_api)["id"])
    assert (
        mine["payment_method_data"]["card"]["card_fingerprint"]
        != theirs["payment_method_data"]["card"]["card_fingerprint"]
    )


def test_reveal_needs_the_scope_and_is_audited_either_way(api, revealer, customer):
    created = create_payment_method(api, customer["id"])
    denied = api.get(f"/payment_methods/{created['id']}?fetch_raw_detail=true")
    assert denied.status_code == 200 and denied.json()["raw_payment_method_data"] is None
    assert VISA not in denied.content.decode()
    revealed = revealer.get(f"/payment_methods/{created['id']}?fetch_raw_detail=true").json()
    assert revealed["raw_payment_method_data"] == {
        "card": {
            "card_number": VISA, "card_exp_month": "12", "card_exp_year": "2035", "card_holder_name": "Ada Lovelace",
            "nick_name": None, "card_issuing_country": None, "card_network": "Visa", "card_issuer": None,
            "card_type": None, "card_cvc": None,
        }
    }  # fmt: skip
    by_post = revealer.post(f"/payment_methods/{created['id']}", {"fetch_raw_detail": True}).json()
    assert by_post["raw_payment_method_data"]["card"]["card_number"] == VISA
    assert revealer.get(f"/v2/payment-methods/{created['id']}?fetch_raw_detail=false").json() == created
    events = list(AuditEvent.objects.filter(action="payment_method.reveal", object_id=created["id"]).order_by("id"))
    assert [e.outcome for e in events] == ["denied", "success", "success"]
    assert all(VISA not in str(e.details) for e in events)


def test_no_reveal_without_an_audit_record(revealer, customer, monkeypatch):
    created = create_payment_method(revealer, customer["id"])

    def refuse(*args, **kwargs):
        from django.db import DatabaseError

        raise DatabaseError("audit unavailable")

    monkeypatch.setattr(audit_services._EVENTS, "statement", refuse)
    response = revealer.get(f"/payment_methods/{created['id']}?fetch_raw_detail=true")
    assert_error(response, 503, "HE_00")
    assert VISA not in response.content.decode()


@pytest.mark.parametrize("spelling", spellings())
@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_update_changes_names_and_acknowledgement(api, customer, spelling, method):
    created = create_payment_method(api, customer["id"])
    path = path_for(PaymentMethodViewSet, "update", spelling, method, payment_method_id=created["id"])
    body = {"payment_method_data": {"card": {"card_holder_name": "A. King", "nick_name": "main", "card_cvc": "999"}},
            "network_transaction_id": "123456789012345", "acknowledgement_status": "authenticated"}  # fmt: skip
    updated = api.request(method, path, body).json()
    card = updated["payment_method_data"]["card"]
    assert (card["card_holder_name"], card["nick_name"]) == ("A. King", "main")
    assert (
        updated["network_transaction_id"] == "123456789012345" and updated["acknowledgement_status"] == "authenticated"
    )
    # As a value of its own: the digits may occur by chance inside a fingerprint or a ciphertext.
    assert "'999'" not in str(PaymentMethod.objects.filter(pk=created["id"]).values().get())


def test_a_failed_acknowledgement_hides_the_payment_method(api, customer):
    created = create_payment_method(api, customer["id"])
    api.put(f"/v2/payment-methods/{created['id']}/update-saved-payment-method", {"acknowledgement_status": "failed"})
    assert_error(api.get(f"/payment_methods/{created['id']}"), 404, "HE_02")
    assert api.get(f"/customers/{customer['id']}/saved_payment_methods").json() == {"customer_payment_methods": []}
    api.put(
        f"/v2/payment-methods/{created['id']}/update-saved-payment-method", {"acknowledgement_status": "authenticated"}
    )
    assert api.get(f"/payment_methods/{created['id']}").status_code == 200


@pytest.mark.parametrize("spelling", spellings())
def test_delete_destroys_the_card_data(api, customer, spelling):
    created = create_payment_method(api, customer["id"])
    path = path_for(PaymentMethodViewSet, "destroy", spelling, payment_method_id=created["id"])
    response = api.delete(path)
    assert response.status_code == 200 and response.json() == {"id": created["id"]}
    row = PaymentMethod.objects.get(pk=created["id"])
    assert row.status == "redacted" and row.sealed_card == "" and row.kek_version == "" and row.card_fingerprint is None
    assert_error(api.delete(path), 400, "IR_11")
    assert_error(api.get(path), 404, "HE_02")
    update = path_for(PaymentMethodViewSet, "update", spelling, "PUT", payment_method_id=created["id"])
    assert_error(api.put(update, {"network_transaction_id": "1"}), 422, "IR_06")
    # The same card can be vaulted again, as a new payment method.
    assert create_payment_method(api, customer["id"])["id"] != created["id"]


@pytest.mark.parametrize("spelling", spellings())
def test_saved_list_shows_the_customers_cards_newest_first(api, customer, spelling):
    ids = [create_payment_method(api, customer["id"], card_number(i))["id"] for i in range(3)]
    create_payment_method(api, create_customer(api)["id"], card_number(9))
    api.put(f"/customers/{customer['id']}", {"default_payment_method_id": ids[1]})
    saved = path_for(CustomerViewSet, "saved_payment_methods", spelling, customer_id=customer["id"])
    listed = api.get(saved).json()["customer_payment_methods"]
    assert [item["id"] for item in listed] == ids[::-1]
    assert [item["is_default"] for item in listed] == [False, True, False]
    first = listed[0]
    assert (
        first["requires_cvv"] is True and first["recurring_enabled"] is None and first["network_tokenization"] is None
    )
    assert set(first["payment_method_data"]["card"]) == MASKED_CARD_KEYS
    page = api.get(f"{saved}?offset=1&limit=1&include_new=true").json()
    assert [item["id"] for item in page["customer_payment_methods"]] == [ids[1]]


def test_default_payment_method_must_be_the_customers_active_one(api, customer):
    other_customer = create_customer(api)
    foreign = create_payment_method(api, other_customer["id"])
    assert_error(api.put(f"/customers/{customer['id']}", {"default_payment_method_id": foreign["id"]}), 400, "IR_16")
    assert_error(api.put(f"/customers/{customer['id']}", {"default_payment_method_id": "nonsense"}), 400, "IR_16")
    mine = create_payment_method(api, customer["id"], card_number(5))
    assert (
        api.put(f"/customers/{customer['id']}", {"default_payment_method_id": mine["id"]}).json()[
            "default_payment_method_id"
        ]
        == mine["id"]
    )
    assert (
        api.put(f"/customers/{customer['id']}", {"default_payment_method_id": None}).json()["default_payment_method_id"]
        is None
    )


def test_deleting_a_customer_deletes_its_payment_methods(api, customer):
    ids = [create_payment_method(api, customer["id"], card_number(i))["id"] for i in range(2)]
    api.delete(f"/customers/{customer['id']}")
    for pm_id in ids:
        row = PaymentMethod.objects.get(pk=pm_id)
        assert row.status == "redacted" and row.sealed_card == ""
        assert_error(api.get(f"/payment_methods/{pm_id}"), 404, "HE_02")
    assert_error(api.get(f"/customers/{customer['id']}/saved_payment_methods"), 400, "IR_11")


def test_volatile_cards_need_no_customer_and_expire(api, settings):
    settings.VAULT_VOLATILE_TTL = 60
    created = api.post("/payment_methods", card_body(None, storage_type="volatile")).json()
    assert created["storage_type"] == "volatile" and created["customer_id"] is None
    assert api.get(f"/payment_methods/{created['id']}").status_code == 200
    row = PaymentMethod.objects.get(pk=created["id"])
    assert timedelta(seconds=55) < row.expires_at - timezone.now() <= timedelta(seconds=60)
    PaymentMethod.objects.filter(pk=created["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(api.get(f"/payment_methods/{created['id']}"), 404, "HE_02")
    assert_error(api.delete(f"/payment_methods/{created['id']}"), 404, "HE_02")
    call_command("purge_expired", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert not PaymentMethod.objects.filter(pk=created["id"]).exists()
    assert AuditEvent.objects.filter(action="payment_method.purge_expired").exists()
    # purge_expired also chains the audit rows that wait (the worker's job, as a backstop).
    assert not AuditEvent.objects.filter(seq__isnull=True).exists()


def test_create_for_a_missing_or_foreign_customer_is_404(api, other_api, customer):
    unknown = "01_cus_0190000000007000800000000000dead"
    foreign = assert_error(other_api.post("/payment_methods", card_body(customer["id"])), 404, "HE_02")
    missing = assert_error(other_api.post("/payment_methods", card_body(unknown)), 404, "HE_02")
    assert foreign == missing
    assert not PaymentMethod.objects.exists()


def test_create_for_a_deleted_customer_is_ir_11(api, customer):
    api.delete(f"/customers/{customer['id']}")
    assert_error(api.post("/payment_methods", card_body(customer["id"])), 400, "IR_11")


def test_unknown_keys_inside_the_card_are_ignored_as_upstream(api, customer):
    created = create_payment_method(api, customer["id"], card_brand_hint="x")
    assert "card_brand_hint" not in str(PaymentMethod.objects.filter(pk=created["id"]).values().get())


def test_every_act_is_audited(api, revealer, customer):
    created = create_payment_method(revealer, customer["id"])
    revealer.get(f"/payment_methods/{created['id']}?fetch_raw_detail=true")
    revealer.put(f"/payment_methods/{created['id']}/update_saved_payment_method", {"network_transaction_id": "1"})
    revealer.delete(f"/payment_methods/{created['id']}")
    actions = list(AuditEvent.objects.filter(object_id=created["id"]).order_by("id").values_list("action", "outcome"))
    assert actions == [
        ("payment_method.create", "success"),
        ("payment_method.reveal", "success"),
        ("payment_method.update", "success"),
        ("payment_method.delete", "success"),
    ]


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_of_one_card_yield_one_payment_method():
    tenant = make_tenant("Racer")
    api = VaultClient(tenant.key, tenant.profile.id)
    customer = create_customer(api)
    body = card_body(customer["id"], card_number(42))
    results: list[tuple[int, str]] = []
    barrier = threading.Barrier(20)

    def create():
        client = VaultClient(tenant.key, tenant.profile.id)
        barrier.wait()
        response = client.post("/payment_methods", body)
        results.append((response.status_code, response.json().get("id", "")))
        connection.close()

    threads = [threading.Thread(target=create) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [status for status, _ in results] == [200] * 20
    assert len({pm_id for _, pm_id in results}) == 1
    assert PaymentMethod.objects.filter(customer_id=customer["id"]).count() == 1


def customer_merchant(payment_method: dict) -> str:
    return PaymentMethod.objects.get(pk=payment_method["id"]).merchant_id


def test_a_card_whose_key_is_missing_from_the_keyring_is_503_logged_and_audited(revealer, customer, settings, caplog):
    created = create_payment_method(revealer, customer["id"])
    stored_version = MerchantKey.objects.get(merchant_id=customer_merchant(created)).root_version
    # The instance restarted with a keyring that lost the root key the card's merchant key is under.
    settings.VAULT_KEYRING = {"99": bytes(range(32))}
    settings.VAULT_ACTIVE_KEK = "99"
    merchant_keys.cache.forget()
    response = revealer.get(f"/payment_methods/{created['id']}?fetch_raw_detail=true")
    assert_error(response, 503, "HE_00")
    assert VISA not in response.content.decode() and VISA not in caplog.text
    # The record is named (as the log filter prints it: an id's long digit runs may be masked).
    assert redact(created["id"]) in caplog.text
    assert f"root key version '{stored_version}' is not in VAULT_KEYRING" in caplog.text
    event = AuditEvent.objects.filter(action="payment_method.reveal", object_id=created["id"]).get()
    assert event.outcome == "failure"
    assert event.details == {"reason": "decryption failed", "key": "merchant key 1"}
