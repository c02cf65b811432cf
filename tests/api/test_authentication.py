"""How a key is presented (header forms, extra parts, two keys, the query string), revocation, a read-only key.

The checks every route must pass (bad keys, profiles, scopes, tenancy) are the route cases run by
test_customer_routes.py and test_payment_method_routes.py.
"""

from audit.actors import Actor
from merchants import scopes
from merchants.services import api_key_revoke, profile_create
from tests.helpers.api import VaultClient, assert_error
from tests.helpers.customers import CUSTOMER_BODY, create_customer
from tests.helpers.payment_methods import create_payment_method
from tests.helpers.state import stored_counts
from tests.helpers.tenants import TEST_ACTOR, issue_key
from tokens.models import PaymentMethod


def test_read_only_key_reads_but_cannot_write(tenant, api):
    customer = create_customer(api)
    client = VaultClient(issue_key(tenant, key_scopes=[scopes.CUSTOMERS_READ]), tenant.profile.id)
    assert client.get(f"/customers/{customer['id']}").status_code == 200
    assert_error(client.post("/customers", CUSTOMER_BODY), 403, "IR_22")


def test_both_header_forms_are_accepted(tenant):
    for style in ("authorization", "api-key"):
        client = VaultClient(tenant.key, tenant.profile.id, header_style=style)
        assert client.post("/customers", CUSTOMER_BODY).status_code == 200


def test_authorization_header_may_carry_other_parts(tenant):
    client = VaultClient(None, tenant.profile.id)
    response = client.post("/customers", CUSTOMER_BODY, headers={"Authorization": f"other=1, api-key={tenant.key}"})
    assert response.status_code == 200


def test_two_different_keys_in_one_request_are_400(tenant):
    second = issue_key(tenant)
    client = VaultClient(tenant.key, tenant.profile.id)
    before = stored_counts()
    assert_error(client.post("/customers", CUSTOMER_BODY, headers={"api-key": second}), 400, "IR_06")
    assert stored_counts() == before


def test_the_same_key_in_both_headers_is_fine(tenant):
    client = VaultClient(tenant.key, tenant.profile.id)
    assert client.post("/customers", CUSTOMER_BODY, headers={"api-key": tenant.key}).status_code == 200


def test_a_key_in_the_query_string_is_ignored(tenant):
    client = VaultClient(None, tenant.profile.id)
    assert_error(client.get(f"/customers?api-key={tenant.key}"), 401, "IR_01")


def test_revocation_takes_effect_on_the_next_request(tenant, api):
    assert api.get("/customers").status_code == 200
    api_key_revoke(actor=Actor(kind="operator", id="t"), api_key=tenant.api_key)
    assert_error(api.get("/customers"), 401, "IR_01")


def test_profiles_of_one_merchant_share_its_customers_and_cards(tenant, api):
    # The documented decision, as upstream's v2: data belongs to the merchant; the profile is recorded.
    second = profile_create(actor=TEST_ACTOR, merchant=tenant.merchant, name="second brand")
    customer = create_customer(api)
    card = create_payment_method(api, customer["id"])
    other_profile = VaultClient(tenant.key, second.id)
    assert other_profile.get(f"/payment_methods/{card['id']}").json() == card
    assert other_profile.get(f"/v2/customers/{customer['id']}").json() == customer
    listed = other_profile.get(f"/customers/{customer['id']}/saved_payment_methods").json()
    assert [item["id"] for item in listed["customer_payment_methods"]] == [card["id"]]
    assert PaymentMethod.objects.get(pk=card["id"]).profile_id == tenant.profile.id
    assert other_profile.delete(f"/payment_methods/{card['id']}").status_code == 200
