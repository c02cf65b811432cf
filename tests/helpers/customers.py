"""Customer request bodies, and a customer created through the API."""

CUSTOMER_BODY = {"name": "Ada Lovelace", "email": "ada@example.com"}
ADDRESS = {"city": "Lisbon", "country": "PT", "line1": "Rua 1", "zip": "1000-001", "first_name": "Ada"}
# Every optional field set: what the response-shape and upstream-conformance tests send.
FULL_BODY = {
    **CUSTOMER_BODY,
    "merchant_reference_id": "cust-001",
    "phone": "912345678",
    "phone_country_code": "+351",
    "description": "First customer",
    "default_billing_address": ADDRESS,
    "default_shipping_address": {"country": "US", "state": "CA"},
    "metadata": {"tier": "gold", "visits": 3},
    "tax_registration_id": "PT123456789",
    "document_details": {"document_type": "cpf", "document_number": "529.982.247-25"},
}


def create_customer(api, **fields) -> dict:
    response = api.post("/customers", {**CUSTOMER_BODY, **fields})
    assert response.status_code == 200, response.content
    return response.json()
