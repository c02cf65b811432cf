"""The customers API through the HTTP client, every route in every spelling."""

import re

import pytest

from api.customers.views import CustomerViewSet
from audit.models import AuditEvent
from customers.models import Customer
from tests.helpers.api import assert_error
from tests.helpers.customers import CUSTOMER_BODY, FULL_BODY, create_customer
from tests.helpers.routes import route_for, spellings

CUSTOMER_KEYS = {
    "id",
    "merchant_reference_id",
    "connector_customer_ids",
    "name",
    "email",
    "phone",
    "phone_country_code",
    "description",
    "default_billing_address",
    "default_shipping_address",
    "created_at",
    "metadata",
    "default_payment_method_id",
    "tax_registration_id",
    "document_details",
}
ISO_MS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


def call(api, spelling, action, customer_id=None, body=None, method=None):
    route = route_for(CustomerViewSet, action, spelling, method)
    return api.request(route.method, route.path(customer_id=customer_id), body)


@pytest.mark.parametrize("spelling", spellings())
def test_create_returns_the_full_customer_shape(api, tenant, spelling):
    response = call(api, spelling, "create", body=FULL_BODY)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == CUSTOMER_KEYS
    assert re.fullmatch(r"01_cus_[0-9a-f]{32}", body["id"])
    assert ISO_MS.fullmatch(body["created_at"])
    assert body["merchant_reference_id"] == "cust-001"
    assert body["default_billing_address"] == {
        "city": "Lisbon",
        "country": "PT",
        "line1": "Rua 1",
        "line2": None,
        "line3": None,
        "zip": "1000-001",
        "state": None,
        "first_name": "Ada",
        "last_name": None,
        "origin_zip": None,
    }
    assert body["metadata"] == {"tier": "gold", "visits": 3}
    assert body["document_details"] == {"document_type": "cpf", "document_number": "529.982.247-25"}
    assert body["connector_customer_ids"] is None and body["default_payment_method_id"] is None
    stored = Customer.objects.get(id=body["id"])
    assert stored.merchant == tenant.merchant and stored.profile == tenant.profile


@pytest.mark.parametrize("spelling", spellings())
def test_minimal_create_emits_every_optional_field_as_null(api, spelling):
    body = call(api, spelling, "create", body=CUSTOMER_BODY).json()
    assert set(body) == CUSTOMER_KEYS
    for key in CUSTOMER_KEYS - {"id", "name", "email", "created_at"}:
        assert body[key] is None, key


@pytest.mark.parametrize("spelling", spellings())
def test_retrieve_returns_what_create_returned(api, spelling):
    created = create_customer(api, **FULL_BODY)
    response = call(api, spelling, "retrieve", created["id"])
    assert response.status_code == 200
    assert response.json() == created


@pytest.mark.parametrize("spelling", spellings())
@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_update_changes_only_the_given_fields(api, spelling, method):
    created = create_customer(api, **FULL_BODY)
    changes = {"name": "Ada King", "metadata": {"tier": "platinum"}}
    response = call(api, spelling, "update", created["id"], changes, method=method)
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Ada King" and body["metadata"] == {"tier": "platinum"}
    assert {k: v for k, v in body.items() if k not in ("name", "metadata")} == {
        k: v for k, v in created.items() if k not in ("name", "metadata")
    }
    assert call(api, spelling, "retrieve", created["id"]).json() == body


def test_update_can_clear_an_optional_field(api):
    created = create_customer(api, description="temporary")
    body = api.put(f"/customers/{created['id']}", {"description": None}).json()
    assert body["description"] is None


def test_update_cannot_change_the_reference_id(api):
    created = create_customer(api, merchant_reference_id="keep-me")
    response = api.put(f"/customers/{created['id']}", {"merchant_reference_id": "other"})
    assert_error(response, 400, "IR_06")


@pytest.mark.parametrize("spelling", spellings())
def test_delete_redacts_and_later_access_is_ir_11(api, spelling):
    created = create_customer(api, **FULL_BODY)
    response = call(api, spelling, "destroy", created["id"])
    assert response.status_code == 200
    assert response.json() == {
        "id": created["id"],
        "merchant_reference_id": "cust-001",
        "customer_deleted": True,
        "address_deleted": True,
        "payment_methods_deleted": True,
    }
    stored = Customer.objects.get(id=created["id"])
    assert stored.status == "redacted"
    assert (stored.name, stored.email, stored.phone, stored.tax_registration_id) == ("Redacted",) * 4
    assert stored.default_billing_address is None and stored.metadata is None and stored.document_details is None
    for action, method in (("retrieve", "GET"), ("update", "PUT"), ("destroy", "DELETE")):
        assert_error(call(api, spelling, action, created["id"], {"name": "x"}, method), 400, "IR_11")


def test_deleted_customer_leaves_the_list_and_frees_its_reference(api):
    created = create_customer(api, merchant_reference_id="reuse-me")
    api.delete(f"/customers/{created['id']}")
    assert api.get("/customers").json() == []
    again = create_customer(api, merchant_reference_id="reuse-me")
    assert again["id"] != created["id"]


@pytest.mark.parametrize("spelling", spellings())
def test_list_pages_newest_first(api, spelling):
    ids = [create_customer(api, merchant_reference_id=f"c{i}")["id"] for i in range(5)]
    path = route_for(CustomerViewSet, "list", spelling).template
    page = api.get(f"{path}?offset=1&limit=2").json()
    assert [c["id"] for c in page] == [ids[3], ids[2]]
    assert [c["id"] for c in api.get(path).json()] == ids[::-1]
    assert [c["id"] for c in api.get(f"{path}?customer_id=c2").json()] == [ids[2]]


def test_list_default_limit_is_10_and_limit_is_capped_at_100(api, tenant):
    Customer.objects.bulk_create(
        Customer(id=f"01_cus_{i:032x}", merchant=tenant.merchant, profile=tenant.profile, name="n", email="e@x.io")
        for i in range(105)
    )
    assert len(api.get("/customers").json()) == 10
    assert len(api.get("/customers?limit=100").json()) == 100
    assert len(api.get("/customers?limit=1000").json()) == 100


def test_list_only_shows_the_merchants_own_customers(api, other_api):
    mine = create_customer(api)
    create_customer(other_api)
    assert [c["id"] for c in api.get("/customers").json()] == [mine["id"]]


def test_duplicate_reference_id_is_ir_12(api, other_api):
    create_customer(api, merchant_reference_id="dup")
    before = Customer.objects.count()
    body = assert_error(api.post("/customers", {**CUSTOMER_BODY, "merchant_reference_id": "dup"}), 400, "IR_12")
    # Word for word as upstream, whose own clients assert it.
    assert body["error"]["message"] == "Customer with the given `customer_id` already exists"
    assert Customer.objects.count() == before
    # Unique per merchant: another merchant may use the same reference.
    create_customer(other_api, merchant_reference_id="dup")


def test_reference_id_is_trimmed(api):
    assert create_customer(api, merchant_reference_id="  padded  ")["merchant_reference_id"] == "padded"


@pytest.mark.parametrize(
    "document",
    [
        {"document_type": "cnpj", "document_number": "11.222.333/0001-81"},
        {"document_type": "psn", "document_number": "123456789012"},
        {"document_type": "other", "document_number": "anything"},
    ],
)
def test_valid_documents_are_accepted(api, document):
    assert create_customer(api, document_details=document)["document_details"] == document


@pytest.mark.parametrize(
    "document",
    [
        {"document_type": "cpf", "document_number": "529.982.247-26"},
        {"document_type": "cpf", "document_number": "111.111.111-11"},
        {"document_type": "cnpj", "document_number": "11.222.333/0001-82"},
        {"document_type": "psn", "document_number": "12345"},
    ],
)
def test_invalid_documents_are_ir_07(api, document):
    before = Customer.objects.count()
    assert_error(api.post("/customers", {**CUSTOMER_BODY, "document_details": document}), 400, "IR_07")
    assert Customer.objects.count() == before


def test_every_write_is_audited_without_personal_data(api, tenant):
    created = create_customer(api, **FULL_BODY)
    api.put(f"/customers/{created['id']}", {"email": "new@example.com"})
    api.delete(f"/customers/{created['id']}")
    events = list(AuditEvent.objects.filter(object_id=created["id"]).order_by("id"))
    assert [e.action for e in events] == ["customer.create", "customer.update", "customer.delete"]
    for event in events:
        assert event.actor_kind == "api_key" and event.actor_id == tenant.api_key.key_id
        assert event.merchant_id == tenant.merchant.id and event.outcome == "success"
        assert event.request_id and event.origin == "127.0.0.1"
        assert "ada@example.com" not in str(event.details) and "new@example.com" not in str(event.details)
    assert events[1].details == {"fields": ["email"]}


def test_request_id_is_the_audited_one(api):
    response = api.post("/customers", CUSTOMER_BODY, headers={"X-Request-Id": "client-req-12345"})
    assert response["X-Request-Id"] == "client-req-12345"
    assert AuditEvent.objects.get(object_id=response.json()["id"]).request_id == "client-req-12345"
