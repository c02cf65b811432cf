"""No card number in free text, and nothing else refused as one: every free-text field of every
input shape, against every test card, bare or grouped; references, timestamps and documents that
upstream's own clients send; phone numbers in their real formats."""

import copy

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from api.customers.serializers import CustomerCreateSerializer, CustomerUpdateSerializer
from api.payment_methods.serializers import PaymentMethodCreateSerializer, PaymentMethodUpdateSerializer
from core.card_numbers import is_card_number, luhn_complete, luhn_valid
from customers.documents import cnpj_valid, psn_valid
from tests.helpers.api import assert_error
from tests.helpers.card_numbers import TEST_CARDS, spellings
from tests.helpers.customers import CUSTOMER_BODY, FULL_BODY, create_customer
from tests.helpers.payment_methods import CONNECTOR_TOKEN, VISA, card_body

PROPERTY = hypothesis_settings(max_examples=300, deadline=None, database=None)
CUSTOMER_ID = "01_cus_0192e7a1f0c37d4fa8b3f2a5c6d7e8f9"
ADDRESS = {name: "x" for name in ("city", "line1", "line2", "line3", "zip", "state", "first_name", "last_name")}
PM_CREATE = {
    **card_body(CUSTOMER_ID, card_issuer="Bank", nick_name="n"),
    "billing": {
        "address": {**ADDRESS, "origin_zip": "x"},
        "phone": {"number": "1", "country_code": "+1"},
        "email": "a@b.co",
    },
    "metadata": {"note": "x"},
}
CUSTOMER = {
    **FULL_BODY,
    "default_billing_address": ADDRESS,
    "default_shipping_address": ADDRESS,
    "document_details": {"document_type": "other", "document_number": "x"},
}
PM_UPDATE = {
    "payment_method_data": {"card": {"card_holder_name": "x", "nick_name": "x"}},
    "network_transaction_id": "x",
    "connector_token_details": {**CONNECTOR_TOKEN, "metadata": {"note": "x"}},
}


def _paths(body, prefix=()):
    """Every string leaf of *body*: the free-text fields of that shape."""
    for name, value in body.items():
        if isinstance(value, dict):
            yield from _paths(value, (*prefix, name))
        elif isinstance(value, str):
            yield (*prefix, name)


def _with(body: dict, path: tuple[str, ...], value: str) -> dict:
    changed = copy.deepcopy(body)
    target = changed
    for name in path[:-1]:
        target = target[name]
    target[path[-1]] = value
    return changed


def _refused_at(errors, path) -> bool:
    """Whether the errors name *path*, or a field holding it (metadata is refused as a whole)."""
    for name in path:
        if isinstance(errors, list):
            return True
        if not isinstance(errors, dict) or name not in errors:
            return False
        errors = errors[name]
    return True


# Identifiers checked against their own formats rather than screened (global ids may look like digits),
# enum values, and fields that are not text a caller writes.
NOT_FREE_TEXT = {
    ("customer_id",), ("payment_method_type",), ("payment_method_subtype",), ("storage_type",),
    ("payment_method_data", "card", "card_number"), ("payment_method_data", "card", "card_exp_month"),
    ("payment_method_data", "card", "card_exp_year"), ("document_details", "document_type"),
    ("default_billing_address", "country"), ("default_shipping_address", "country"),
    ("connector_token_details", "token_type"), ("connector_token_details", "status"),
    ("connector_token_details", "original_payment_authorized_currency"),
}  # fmt: skip
SHAPES = {
    "customer create": (CustomerCreateSerializer, CUSTOMER),
    "customer update": (CustomerUpdateSerializer, {k: v for k, v in CUSTOMER.items() if k != "merchant_reference_id"}),
    "payment method create": (PaymentMethodCreateSerializer, PM_CREATE),
    "payment method update": (PaymentMethodUpdateSerializer, PM_UPDATE),
}
FIELDS = [
    (shape, path)
    for shape, (_, body) in SHAPES.items()
    for path in _paths(body)
    if path not in NOT_FREE_TEXT and path[-1] != "email"
]


def test_the_shapes_are_valid_before_a_card_number_goes_in():
    for serializer_class, body in SHAPES.values():
        serializer = serializer_class(data=body)
        assert serializer.is_valid(), serializer.errors
    # Every kind of free text is covered: names, addresses, phones, references, metadata, tokens.
    names = {path[-1] for _, path in FIELDS}
    assert {"name", "line1", "phone", "number", "merchant_reference_id", "note", "token"} <= names
    assert {"network_transaction_id", "document_number", "card_holder_name", "tax_registration_id"} <= names
    assert len(FIELDS) >= 50


# Fields whose own values are digit strings (phones: up to 15 digits; network transaction ids: 15)
# are screened for the card lengths that cannot be theirs, so that real values are never refused.
SHORTEST_CARD_SCREENED = {"phone": 15, "number": 15, "network_transaction_id": 16}


@pytest.mark.parametrize(("shape", "path"), FIELDS, ids=[f"{shape}: {'.'.join(path)}" for shape, path in FIELDS])
def test_every_test_card_bare_or_grouped_is_refused_in_every_free_text_field(shape, path):
    serializer_class, body = SHAPES[shape]
    shortest = SHORTEST_CARD_SCREENED.get(path[-1], 0)
    screened = [number for number in TEST_CARDS if len(number) >= shortest]
    assert len(screened) >= 10
    for number in screened:
        for spelled in spellings(number):
            serializer = serializer_class(data=_with(body, path, spelled))
            assert not serializer.is_valid(), (path, spelled)
            assert _refused_at(serializer.errors, path), (path, spelled, serializer.errors)


@pytest.mark.parametrize("shape", ["customer create", "payment method create"])
def test_a_card_number_as_an_email_is_refused(shape):
    serializer_class, body = SHAPES[shape]
    path = ("email",) if shape == "customer create" else ("billing", "email")
    for number in TEST_CARDS:
        serializer = serializer_class(data=_with(body, path, f"{number}@example.com"))
        assert not serializer.is_valid() and _refused_at(serializer.errors, path), number


@pytest.mark.parametrize("key", ["4111111111111111", "4111 1111 1111 1111"])
def test_a_card_number_as_a_metadata_key_is_refused(key):
    serializer = CustomerCreateSerializer(data={**CUSTOMER_BODY, "metadata": {key: "x"}})
    assert not serializer.is_valid() and "metadata" in serializer.errors


# --- what upstream's clients send, accepted ---------------------------------------------------------


@PROPERTY
@given(st.integers(1_000_000_000_000, 1_999_999_999_999))
def test_references_built_from_millisecond_timestamps_are_accepted(timestamp):
    # Upstream's Cypress commands build `customer_${Date.now()}`; about a third used to be refused.
    serializer = CustomerCreateSerializer(data={**CUSTOMER_BODY, "merchant_reference_id": f"customer_{timestamp}"})
    assert serializer.is_valid(), serializer.errors


def test_luhn_valid_timestamp_references_are_accepted_through_the_api(api):
    for stem in ("173321234567", "176412345678", "199999999999", "100000000000"):
        reference = f"customer_{luhn_complete(stem)}"
        created = create_customer(api, merchant_reference_id=reference)
        assert created["merchant_reference_id"] == reference


# A valid CNPJ whose 14 digits also pass for a Diners Club number, and a 12-digit PSN that also
# passes for a Maestro number: each is the document it says it is.
CNPJ_LIKE_A_CARD = "36000000003820"
PSN_LIKE_A_CARD = "501234567896"


def test_the_documents_do_look_like_cards():
    assert cnpj_valid(CNPJ_LIKE_A_CARD) and is_card_number(CNPJ_LIKE_A_CARD)
    assert psn_valid(PSN_LIKE_A_CARD) and is_card_number(PSN_LIKE_A_CARD)


@pytest.mark.parametrize(("document_type", "number"), [("cnpj", CNPJ_LIKE_A_CARD), ("psn", PSN_LIKE_A_CARD)])
def test_a_document_valid_as_its_type_is_accepted_even_when_it_looks_like_a_card(api, document_type, number):
    document = {"document_type": document_type, "document_number": number}
    created = create_customer(api, document_details=document)
    assert created["document_details"] == document


@pytest.mark.parametrize(
    "document",
    [
        {"document_type": "other", "document_number": CNPJ_LIKE_A_CARD},
        {"document_type": "other", "document_number": VISA},
        {"document_type": "cnpj", "document_number": VISA},  # not a CNPJ: screened, then refused
        {"document_type": "psn", "document_number": "378282246310005"},
    ],
)
def test_a_card_number_not_valid_as_its_document_type_is_refused(api, document):
    body = assert_error(api.post("/customers", {**CUSTOMER_BODY, "document_details": document}), 400, "IR_06")
    assert document["document_number"] not in str(body)


# --- phone numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phone", ["912345678", "+1 (415) 555-2671", "+44 20 7946 0958", "020.7946.0958", "+4915112345670"]
)
def test_phone_numbers_in_their_usual_spellings_are_accepted(api, phone):
    assert create_customer(api, phone=phone)["phone"] == phone


@pytest.mark.parametrize(
    "phone",
    [
        "1234567890123456",
        "555-CALL-NOW",
        "+1 415 555 2671 ext 3",
        "++1415",
        "",
        "\u0661\u0662\u0663",
        "378282246310005",
    ],
)
def test_other_phone_numbers_are_refused(api, phone):
    assert_error(api.post("/customers", {**CUSTOMER_BODY, "phone": phone}), 400, "IR_06")


@pytest.mark.parametrize("code", ["+1", "1", "+351", "+1684"])
def test_country_calling_codes_are_accepted(api, code):
    assert create_customer(api, phone_country_code=code)["phone_country_code"] == code


@pytest.mark.parametrize("code", ["+12345", "+", "+1-684", "UK", "4 4", VISA])
def test_other_country_calling_codes_are_refused(api, code):
    assert_error(api.post("/customers", {**CUSTOMER_BODY, "phone_country_code": code}), 400, "IR_06")


def test_a_billing_phone_follows_the_same_formats(api):
    customer = create_customer(api)
    good = {"number": "+1 (415) 555-2671", "country_code": "+1"}
    created = api.post("/payment_methods", {**card_body(customer["id"]), "billing": {"phone": good}})
    assert created.status_code == 200, created.content
    assert created.json()["billing"]["phone"] == good
    for phone in ({"number": "378282246310005"}, {"number": "1234567890123456"}, {"country_code": "+12345"}):
        response = api.post("/payment_methods", {**card_body(customer["id"]), "billing": {"phone": phone}})
        assert_error(response, 400, "IR_06")


def test_a_phone_hides_no_card_behind_parentheses_or_doubled_spaces(api):
    for phone in ("(378282) 246310005", "(37) 8282 2463 10005", "3782  822463  10005"):
        body = assert_error(api.post("/customers", {**CUSTOMER_BODY, "phone": phone}), 400, "IR_06")
        assert body["error"]["fields"] == {"phone": "card_number"}, phone


@pytest.mark.parametrize("phone", ["+4915112345678", "+57 300 123 4562", "+58 412 123 4564", "30569309025904"])
def test_real_phone_numbers_that_pass_for_short_cards_are_accepted(api, phone):
    # All Luhn-valid: a 13-digit German mobile, 12-digit Colombian and Venezuelan ones (they look like
    # Maestro numbers), a 14-digit number that looks like a Diners card. A phone holds 15 digits at
    # most, and only a 15-digit card is looked for in it.
    assert luhn_valid("".join(char for char in phone if char.isdigit()))
    assert create_customer(api, phone=phone)["phone"] == phone


def test_a_network_transaction_id_of_fifteen_digits_is_never_taken_for_a_card(api):
    customer = create_customer(api)
    payment_method = api.post("/payment_methods", card_body(customer["id"])).json()
    path = f"/payment_methods/{payment_method['id']}/update_saved_payment_method"
    for transaction_id in ("301234567890125", "378282246310005"):
        response = api.patch(path, {"network_transaction_id": transaction_id})
        assert response.status_code == 200 and response.json()["network_transaction_id"] == transaction_id
    assert_error(api.patch(path, {"network_transaction_id": "4111111111111111"}), 400, "IR_06")


def test_a_decimal_number_is_not_taken_for_a_grouped_card(api):
    created = create_customer(api, metadata={"lat": 45.91928266476927, "lon": "45.91928266476927"})
    assert created["metadata"]["lon"] == "45.91928266476927"
