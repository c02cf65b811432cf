"""A corpus of bad bodies and queries for the customers routes and the request pipeline.

Each case asserts the status, the code, a JSON answer, that nothing was stored and that no
submitted digits were echoed back.
"""

import json

import pytest

from tests.helpers.api import assert_error
from tests.helpers.customers import CUSTOMER_BODY, create_customer
from tests.helpers.state import stored_counts

CARD = "4242424242424242"
OK = CUSTOMER_BODY


def body(**changes):
    merged = {**OK, **changes}
    return json.dumps({k: v for k, v in merged.items() if v is not ...})


# (case id, method, path, raw body, content type, status, code); {id} is a live customer's id.
CASES = [
    ("malformed json", "POST", "/customers", '{"name": "a",', "application/json", 400, "IR_06"),
    ("trailing garbage", "POST", "/customers", body() + " x", "application/json", 400, "IR_06"),
    ("array instead of object", "POST", "/customers", "[]", "application/json", 400, "IR_06"),
    ("string instead of object", "POST", "/customers", '"name"', "application/json", 400, "IR_06"),
    ("json null body", "POST", "/customers", "null", "application/json", 400, "IR_06"),
    ("5000-deep array", "POST", "/customers", "[" * 5000 + "]" * 5000, "application/json", 400, "IR_06"),
    (
        "40-deep metadata",
        "POST",
        "/customers",
        body(metadata={"a": json.loads('{"b":' * 39 + "1" + "}" * 39)}),
        "application/json",
        400,
        "IR_06",
    ),
    (
        "duplicate keys",
        "POST",
        "/customers",
        '{"name": "a", "name": "b", "email": "a@b.co"}',
        "application/json",
        400,
        "IR_06",
    ),
    ("escaped NUL in a value", "POST", "/customers", body(name="Ada\u0000Lovelace"), "application/json", 400, "IR_06"),
    (
        "escaped NUL in a metadata key",
        "POST",
        "/customers",
        body(metadata={"k\u0000": "v"}),
        "application/json",
        400,
        "IR_06",
    ),
    ("raw NUL byte", "POST", "/customers", '{"name": "a\x00", "email": "a@b.co"}', "application/json", 400, "IR_06"),
    (
        "invalid UTF-8",
        "POST",
        "/customers",
        b'{"name": "\xff\xfe", "email": "a@b.co"}',
        "application/json",
        400,
        "IR_06",
    ),
    (
        "NaN",
        "POST",
        "/customers",
        '{"name": "a", "email": "a@b.co", "metadata": {"x": NaN}}',
        "application/json",
        400,
        "IR_06",
    ),
    (
        "overflowing float",
        "POST",
        "/customers",
        '{"name": "a", "email": "a@b.co", "metadata": {"x": 1e999}}',
        "application/json",
        400,
        "IR_06",
    ),
    ("text/plain", "POST", "/customers", body(), "text/plain", 415, "IR_06"),
    ("form encoded", "POST", "/customers", "name=a&email=a%40b.co", "application/x-www-form-urlencoded", 415, "IR_06"),
    ("json-ish vendor type", "POST", "/customers", body(), "application/vnd.api+json", 415, "IR_06"),
    ("no content type", "POST", "/customers", body(), "", 415, "IR_06"),
    ("missing name", "POST", "/customers", body(name=...), "application/json", 400, "IR_04"),
    ("missing email", "POST", "/customers", body(email=...), "application/json", 400, "IR_04"),
    ("empty object", "POST", "/customers", "{}", "application/json", 400, "IR_04"),
    ("bad email", "POST", "/customers", body(email="not-an-email"), "application/json", 400, "IR_06"),
    ("email too long", "POST", "/customers", body(email="a" * 250 + "@b.com"), "application/json", 400, "IR_06"),
    ("name too long", "POST", "/customers", body(name="n" * 256), "application/json", 400, "IR_06"),
    ("blank name", "POST", "/customers", body(name="   "), "application/json", 400, "IR_06"),
    ("null name", "POST", "/customers", body(name=None), "application/json", 400, "IR_06"),
    ("number as name", "POST", "/customers", body(name=12345), "application/json", 400, "IR_06"),
    ("boolean as email", "POST", "/customers", body(email=True), "application/json", 400, "IR_06"),
    ("empty description", "POST", "/customers", body(description=""), "application/json", 400, "IR_06"),
    ("unknown field", "POST", "/customers", body(nickname="x"), "application/json", 400, "IR_06"),
    ("card number as a field name", "POST", "/customers", body(**{CARD: "x"}), "application/json", 400, "IR_06"),
    (
        "unknown address field",
        "POST",
        "/customers",
        body(default_billing_address={"street": "x"}),
        "application/json",
        400,
        "IR_06",
    ),
    (
        "bad country",
        "POST",
        "/customers",
        body(default_billing_address={"country": "XX"}),
        "application/json",
        400,
        "IR_06",
    ),
    (
        "address as a string",
        "POST",
        "/customers",
        body(default_shipping_address="Lisbon"),
        "application/json",
        400,
        "IR_06",
    ),
    (
        "card number in an address",
        "POST",
        "/customers",
        body(default_billing_address={"line1": CARD}),
        "application/json",
        400,
        "IR_06",
    ),
    ("metadata as a list", "POST", "/customers", body(metadata=["a"]), "application/json", 400, "IR_06"),
    (
        "51 metadata keys",
        "POST",
        "/customers",
        body(metadata={f"k{i}": i for i in range(51)}),
        "application/json",
        400,
        "IR_06",
    ),
    ("41-char metadata key", "POST", "/customers", body(metadata={"k" * 41: 1}), "application/json", 400, "IR_06"),
    (
        "501-char metadata value",
        "POST",
        "/customers",
        body(metadata={"k": "v" * 501}),
        "application/json",
        400,
        "IR_06",
    ),
    (
        "card number in metadata",
        "POST",
        "/customers",
        body(metadata={"note": f"card {CARD}"}),
        "application/json",
        400,
        "IR_06",
    ),
    (
        "spaced card number in metadata",
        "POST",
        "/customers",
        body(metadata={"n": "4242 4242 4242 4242"}),
        "application/json",
        400,
        "IR_06",
    ),
    ("card number in the name", "POST", "/customers", body(name=CARD), "application/json", 400, "IR_06"),
    (
        "reference id with a space",
        "POST",
        "/customers",
        body(merchant_reference_id="a b"),
        "application/json",
        400,
        "IR_06",
    ),
    (
        "reference id too long",
        "POST",
        "/customers",
        body(merchant_reference_id="r" * 65),
        "application/json",
        400,
        "IR_06",
    ),
    (
        "SQL in the reference id",
        "POST",
        "/customers",
        body(merchant_reference_id="' OR '1'='1"),
        "application/json",
        400,
        "IR_06",
    ),
    (
        "unknown document type",
        "POST",
        "/customers",
        body(document_details={"document_type": "ssn", "document_number": "1"}),
        "application/json",
        400,
        "IR_06",
    ),
    (
        "document without number",
        "POST",
        "/customers",
        body(document_details={"document_type": "other"}),
        "application/json",
        400,
        "IR_04",
    ),
    # Malformed ids in the path: tests/helpers/route_cases.py (PathIdCases), on every route.
    ("limit zero", "GET", "/customers?limit=0", "", "application/json", 400, "IR_06"),
    ("negative offset", "GET", "/customers?offset=-1", "", "application/json", 400, "IR_06"),
    ("non-numeric limit", "GET", "/customers?limit=ten", "", "application/json", 400, "IR_06"),
    ("Arabic-Indic digits in limit", "GET", "/customers?limit=%D9%A1%D9%A0", "", "application/json", 400, "IR_06"),
    ("full-width digits in offset", "GET", "/customers?offset=%EF%BC%91", "", "application/json", 400, "IR_06"),
    ("underscore in limit", "GET", "/customers?limit=1_0", "", "application/json", 400, "IR_06"),
    ("huge offset", "GET", "/customers?offset=99999999999999999999", "", "application/json", 400, "IR_06"),
    ("unknown query parameter", "GET", "/customers?sort=name", "", "application/json", 400, "IR_06"),
    (
        "SQL in the reference filter",
        "GET",
        "/customers?customer_id=x'%3BDROP%20TABLE",
        "",
        "application/json",
        400,
        "IR_06",
    ),
    ("update with a null name", "PUT", "/customers/{id}", '{"name": null}', "application/json", 400, "IR_06"),
    (
        "update with an unknown field",
        "PATCH",
        "/customers/{id}",
        '{"status": "active"}',
        "application/json",
        400,
        "IR_06",
    ),
    ("update with malformed json", "PUT", "/customers/{id}", "{", "application/json", 400, "IR_06"),
    ("update as text/plain", "PUT", "/customers/{id}", '{"name": "x"}', "text/plain", 415, "IR_06"),
    ("delete on the collection", "DELETE", "/customers", "", "application/json", 405, "IR_03"),
    ("PUT on the v2 list", "PUT", "/v2/customers/list", "", "application/json", 405, "IR_03"),
    ("GET on the v2 create route", "GET", "/v2/customers", "", "application/json", 405, "IR_03"),
    ("OPTIONS", "OPTIONS", "/customers", "", "application/json", 405, "IR_03"),
    ("unknown route", "GET", "/cards", "", "application/json", 404, "IR_02"),
    ("trailing slash", "GET", "/customers/", "", "application/json", 404, "IR_02"),
    ("unknown prefix", "POST", "/v3/customers", body(), "application/json", 404, "IR_02"),
]


@pytest.mark.parametrize(
    ("case", "method", "path", "raw", "content_type", "status", "code"), CASES, ids=[c[0] for c in CASES]
)
def test_bad_input_is_refused_cleanly(api, case, method, path, raw, content_type, status, code):
    customer = create_customer(api, merchant_reference_id="existing", name="Existing")
    before = stored_counts()
    response = api.request(method, path.format(id=customer["id"]), raw=raw, content_type=content_type)
    assert_error(response, status, code)
    assert stored_counts() == before
    assert api.get(f"/customers/{customer['id']}").json() == customer
    assert CARD not in response.content.decode() and "4242 4242" not in response.content.decode()


def test_corpus_is_large_enough():
    assert len(CASES) >= 30


def test_field_errors_name_the_field_but_not_the_value(api):
    response = api.post(
        "/customers", {**OK, "email": "sneaky-value-4242", "default_billing_address": {"country": "ZZ"}}
    )
    error = assert_error(response, 400, "IR_06")["error"]
    assert error["fields"] == {"email": "invalid", "default_billing_address.country": "invalid_choice"}
    assert "sneaky" not in response.content.decode() and "ZZ" not in response.content.decode()


def test_missing_fields_are_named(api):
    error = assert_error(api.post("/customers", {}), 400, "IR_04")["error"]
    assert error["message"] == "Missing required param: name, email"


def test_a_partial_update_must_send_a_whole_document(api):
    customer = create_customer(api)
    before = stored_counts()
    response = api.patch(f"/customers/{customer['id']}", {"document_details": {"document_number": "0"}})
    assert_error(response, 400, "IR_04")
    assert stored_counts() == before
