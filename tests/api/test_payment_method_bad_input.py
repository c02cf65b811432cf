"""Bad input on the payment-method routes: each case a documented 4xx, nothing stored, nothing echoed."""

import copy
import json

import pytest

from audit.models import AuditEvent
from tests.helpers.api import assert_error
from tests.helpers.customers import create_customer
from tests.helpers.payment_methods import CONNECTOR_TOKEN, VISA, card_body, create_payment_method
from tokens.models import PaymentMethod

BAD_LUHN = VISA[:-1] + "3"
ARABIC_INDIC = "".join(chr(0x0660 + int(d)) for d in VISA)
FULL_WIDTH = "".join(chr(0xFF10 + int(d)) for d in VISA)


def with_card(**fields):
    def build(customer_id):
        body = card_body(customer_id)
        body["payment_method_data"]["card"].update(fields)
        return body

    return build


def without_card(*names):
    def build(customer_id):
        body = card_body(customer_id)
        for name in names:
            body["payment_method_data"]["card"].pop(name)
        return body

    return build


def changed(**fields):
    def build(customer_id):
        body = card_body(customer_id)
        for name, value in fields.items():
            if value is ...:
                body.pop(name)
            else:
                body[name] = value
        return body

    return build


# (case, body builder, status, code)
CREATE_CASES = [
    ("Luhn failure", with_card(card_number=BAD_LUHN), 400, "IR_06"),
    ("11 digits", with_card(card_number="42424242424"), 400, "IR_06"),
    ("20 digits", with_card(card_number=VISA + "4242"), 400, "IR_06"),
    ("letters in the number", with_card(card_number="4242abcd42424242"), 400, "IR_06"),
    ("dashes in the number", with_card(card_number="4242-4242-4242-4242"), 400, "IR_06"),
    ("tab around the number", with_card(card_number=f"\t{VISA}"), 400, "IR_06"),
    ("newline after the number", with_card(card_number=f"{VISA}\n"), 400, "IR_06"),
    ("no-break space around the number", with_card(card_number=f"\u00a0{VISA}\u00a0"), 400, "IR_06"),
    ("ideographic space before the number", with_card(card_number=f"\u3000{VISA}"), 400, "IR_06"),
    ("all-zero IIN", with_card(card_number="0000000000000000"), 400, "IR_06"),
    ("neither subtype nor card type", changed(payment_method_subtype=...), 400, "IR_04"),
    ("card number in the billing phone", changed(billing={"phone": {"number": "3782 822463 10005"}}), 400, "IR_06"),
    ("card number as the billing phone", changed(billing={"phone": {"number": "+378282246310005"}}), 400, "IR_06"),
    ("billing phone of 16 digits", changed(billing={"phone": {"number": "1234567890123456"}}), 400, "IR_06"),
    ("billing phone with letters", changed(billing={"phone": {"number": "555-CALL-NOW"}}), 400, "IR_06"),
    ("long billing country code", changed(billing={"phone": {"country_code": "+12345"}}), 400, "IR_06"),
    ("card number as billing country code", changed(billing={"phone": {"country_code": VISA}}), 400, "IR_06"),
    ("Arabic-Indic digits", with_card(card_number=ARABIC_INDIC), 400, "IR_06"),
    ("full-width digits", with_card(card_number=FULL_WIDTH), 400, "IR_06"),
    ("number as a JSON number", with_card(card_number=int(VISA)), 400, "IR_06"),
    ("empty number", with_card(card_number=""), 400, "IR_06"),
    ("NUL in the number", with_card(card_number=VISA + "\u0000"), 400, "IR_06"),
    ("month 13", with_card(card_exp_month="13"), 400, "IR_16"),
    ("month 0", with_card(card_exp_month="0"), 400, "IR_16"),
    ("three-digit year", with_card(card_exp_year="203"), 400, "IR_16"),
    ("expired card", with_card(card_exp_month="01", card_exp_year="2020"), 400, "IR_16"),
    ("year 60 ahead", with_card(card_exp_year="2090"), 400, "IR_16"),
    ("non-ASCII month", with_card(card_exp_month="\u0661\u0662"), 400, "IR_16"),
    ("two-digit CVC", with_card(card_cvc="12"), 400, "IR_16"),
    ("five-digit CVC", with_card(card_cvc="12345"), 400, "IR_16"),
    ("letters in the CVC", with_card(card_cvc="12a"), 400, "IR_16"),
    ("missing number", without_card("card_number"), 400, "IR_04"),
    ("missing expiry", without_card("card_exp_month", "card_exp_year"), 400, "IR_04"),
    ("card number in the holder name", with_card(card_holder_name=f"Ada {VISA}"), 400, "IR_06"),
    ("card number in the nickname", with_card(nick_name=VISA), 400, "IR_06"),
    ("unknown network", with_card(card_network="Bogus"), 400, "IR_06"),
    ("bad issuing country", with_card(card_issuing_country="ZZ"), 400, "IR_06"),
    ("bad card type", with_card(card_type="charge"), 400, "IR_06"),
    ("non-card type", changed(payment_method_type="wallet"), 400, "IR_06"),
    ("bad subtype", changed(payment_method_subtype="paypal"), 400, "IR_06"),
    ("missing type", changed(payment_method_type=...), 400, "IR_04"),
    ("missing storage type", changed(storage_type=...), 400, "IR_04"),
    ("bad storage type", changed(storage_type="forever"), 400, "IR_06"),
    ("persistent without customer", changed(customer_id=...), 400, "IR_04"),
    ("malformed customer id", changed(customer_id="cus_123"), 400, "IR_06"),
    ("SQL in the customer id", changed(customer_id="01_cus_' OR 1=1 --aaaaaaaaaaaaaaaaaaaa"), 400, "IR_06"),
    ("unknown top-level field", changed(psp_tokenization={"enable": True}), 400, "IR_06"),
    ("bank debit data", changed(payment_method_data={"bank_debit": {"ach": {}}}), 400, "IR_06"),
    ("card data as a list", changed(payment_method_data={"card": []}), 400, "IR_06"),
    ("bad network tokenization", changed(network_tokenization={"enable": "yes"}), 400, "IR_06"),
    ("card number in metadata", changed(metadata={"pan": VISA}), 400, "IR_06"),
    ("card number in billing", changed(billing={"address": {"line1": VISA}}), 400, "IR_06"),
    ("unknown billing field", changed(billing={"street": "x"}), 400, "IR_06"),
]


@pytest.mark.parametrize(("case", "build", "status", "code"), CREATE_CASES, ids=[c[0] for c in CREATE_CASES])
def test_bad_create_is_refused_cleanly(api, case, build, status, code, caplog):
    customer = create_customer(api)
    before = (PaymentMethod.objects.count(), AuditEvent.objects.count())
    body = build(customer["id"])
    response = api.post("/v2/payment-methods", body)
    assert_error(response, status, code)
    assert (PaymentMethod.objects.count(), AuditEvent.objects.count()) == before
    text = response.content.decode()
    for secret in (VISA, BAD_LUHN, "42424242424", ARABIC_INDIC, FULL_WIDTH):
        assert secret not in text and secret not in caplog.text


def test_create_corpus_is_large_enough():
    assert len(CREATE_CASES) >= 30


UPDATE_CASES = [
    ("card number in update", {"payment_method_data": {"card": {"card_number": VISA}}}, 400, "IR_06"),
    ("expiry in update", {"payment_method_data": {"card": {"card_exp_year": "2040"}}}, 400, "IR_06"),
    ("bad acknowledgement", {"acknowledgement_status": "maybe"}, 400, "IR_06"),
    ("bad CVC in update", {"payment_method_data": {"card": {"card_cvc": "1"}}}, 400, "IR_16"),
    ("card number as holder", {"payment_method_data": {"card": {"card_holder_name": VISA}}}, 400, "IR_06"),
    ("connector token without its connector", {"connector_token_details": {"token": "x"}}, 400, "IR_04"),
    (
        "connector token of an unknown type",
        {"connector_token_details": {**CONNECTOR_TOKEN, "token_type": "x"}},
        400,
        "IR_06",
    ),
    (
        "connector token in an unknown currency",
        {"connector_token_details": {**CONNECTOR_TOKEN, "original_payment_authorized_currency": "XXX"}},
        400,
        "IR_06",
    ),
    (
        "connector token amount as text",
        {"connector_token_details": {**CONNECTOR_TOKEN, "original_payment_authorized_amount": "1.5"}},
        400,
        "IR_06",
    ),
    (
        "connector token that is a card number",
        {"connector_token_details": {**CONNECTOR_TOKEN, "token": VISA}},
        400,
        "IR_06",
    ),
    (
        "connector token with an unknown field",
        {"connector_token_details": {**CONNECTOR_TOKEN, "extra": 1}},
        400,
        "IR_06",
    ),
    ("network transaction id that is a card number", {"network_transaction_id": VISA}, 400, "IR_06"),
]


@pytest.mark.parametrize(("case", "body", "status", "code"), UPDATE_CASES, ids=[c[0] for c in UPDATE_CASES])
def test_bad_update_is_refused_cleanly(api, case, body, status, code):
    created = create_payment_method(api, create_customer(api)["id"])
    before = list(PaymentMethod.objects.values())
    response = api.put(f"/v2/payment-methods/{created['id']}/update-saved-payment-method", copy.deepcopy(body))
    assert_error(response, status, code)
    assert list(PaymentMethod.objects.values()) == before
    assert VISA not in response.content.decode()


QUERY_CASES = [
    ("fetch_raw_detail=yes", 400),
    ("fetch_raw_detail=1", 400),
    ("unknown=1", 400),
]


@pytest.mark.parametrize(("query", "status"), QUERY_CASES)
def test_bad_retrieve_queries_are_400(api, query, status):
    created = create_payment_method(api, create_customer(api)["id"])
    assert_error(api.get(f"/payment_methods/{created['id']}?{query}"), status, "IR_06")


@pytest.mark.parametrize("body", ['{"fetch_raw_detail": "true"}', '{"fetch_raw_detail": 1}', '{"other": true}', "["])
def test_bad_retrieve_bodies_are_400(api, body):
    created = create_payment_method(api, create_customer(api)["id"])
    assert_error(api.post(f"/payment_methods/{created['id']}", raw=body), 400, "IR_06")


# Malformed ids in the path: tests/helpers/route_cases.py (PathIdCases), on every route.


def test_saved_list_rejects_bad_queries(api):
    customer = create_customer(api)
    for query in ("limit=0", "offset=-1", "limit=%EF%BC%91", "sort=asc"):
        assert_error(api.get(f"/customers/{customer['id']}/saved_payment_methods?{query}"), 400, "IR_06")


def test_the_cvc_is_never_kept(api, caplog):
    customer = create_customer(api)
    cvc = "7319"
    response = api.post("/payment_methods", card_body(customer["id"], card_cvc=cvc))
    assert response.status_code == 200 and cvc not in response.content.decode()
    for model in (PaymentMethod, AuditEvent):
        # As a value of its own: the digits may occur by chance inside a hex id or a ciphertext.
        assert f'"{cvc}"' not in json.dumps(list(model.objects.values()), default=str)
    assert cvc not in caplog.text
