"""The vault's own OpenAPI document and docs page, and conformance to upstream's schemas."""

import re

import pytest
from django.test import Client

from tests.helpers.customers import FULL_BODY, create_customer
from tests.helpers.upstream import assert_matches_upstream


def test_openapi_document_is_served_without_a_key(db):
    response = Client().get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    for path in (
        "/customers",
        "/customers/{customer_id}",
        "/v2/customers",
        "/v2/customers/list",
        "/v1/customers/{customer_id}",
    ):
        assert path in paths, path
    assert document["components"]["securitySchemes"]["api_key"]["name"] == "api-key"
    create = paths["/v2/customers"]["post"]
    assert any(p["name"] == "X-Profile-Id" and p["required"] for p in create["parameters"])


def test_docs_page_works_offline(db):
    client = Client()
    page = client.get("/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "https://" not in html and "http://" not in html.replace("http://testserver", "")
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert assets
    for asset in assets:
        assert client.get(asset).status_code == 200, asset


@pytest.mark.parametrize("prefix", ["v1", "v2"])
def test_customer_responses_match_upstream(api, prefix):
    created = api.post(f"/{prefix}/customers", FULL_BODY).json()
    assert_matches_upstream(created, "CustomerResponse")
    assert_matches_upstream(api.get(f"/{prefix}/customers/{created['id']}").json(), "CustomerResponse")
    assert_matches_upstream(api.put(f"/{prefix}/customers/{created['id']}", {"name": "B"}).json(), "CustomerResponse")
    for item in api.get(f"/{prefix}/customers/list").json():
        assert_matches_upstream(item, "CustomerResponse")
    assert_matches_upstream(api.delete(f"/{prefix}/customers/{created['id']}").json(), "CustomerDeleteResponse")


def test_minimal_customer_matches_upstream(api):
    assert_matches_upstream(create_customer(api), "CustomerResponse")
