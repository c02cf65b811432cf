"""Card numbers, payment-method request bodies, and a payment method vaulted through the API."""

from core.card_numbers import luhn_complete

VISA = "4242424242424242"
# A processor's token for a card, as upstream's ConnectorTokenDetails carries it on update.
CONNECTOR_TOKEN = {
    "connector_id": "mca_5apGeP94tMts6rg3U3kR",
    "token_type": "multi_use",
    "status": "active",
    "connector_token_request_reference_id": "ref_8412",
    "original_payment_authorized_amount": 1299,
    "original_payment_authorized_currency": "EUR",
    "metadata": {"network": "visa"},
    "connector_customer_id": "cus_Pq3rX",
    "token": "pm_1Q2w3E4r5T6y7U8i",
}


def card_number(index: int, prefix: str = "4", length: int = 16) -> str:
    """A distinct valid card number per *index*."""
    body = f"{prefix}{index:0{length - len(prefix) - 1}d}"
    return luhn_complete(body)


def card_body(customer_id: str | None, number: str = VISA, storage_type: str = "persistent", **card_fields) -> dict:
    card = {
        "card_number": number,
        "card_exp_month": "12",
        "card_exp_year": "2035",
        "card_holder_name": "Ada Lovelace",
        **card_fields,
    }
    body = {
        "payment_method_type": "card",
        "payment_method_subtype": "credit",
        "payment_method_data": {"card": card},
        "storage_type": storage_type,
    }
    if customer_id is not None:
        body["customer_id"] = customer_id
    return body


def create_payment_method(api, customer_id: str | None, number: str = VISA, **card_fields) -> dict:
    response = api.post("/payment_methods", card_body(customer_id, number, **card_fields))
    assert response.status_code == 200, response.content
    return response.json()
