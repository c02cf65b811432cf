"""Hostile headers and credentials on every vault route: doubled, malformed, in the query string."""

import pytest

from tests.helpers.api import VaultClient, assert_error
from tests.helpers.state import stored_counts

ID = "01_cus_0190000000007000800000000000dead"
PM = "01_pm_0190000000007000800000000000beef"
ROUTES = [
    ("POST", "/customers"), ("GET", "/customers"), ("GET", f"/customers/{ID}"), ("PUT", f"/customers/{ID}"),
    ("DELETE", f"/customers/{ID}"), ("GET", f"/customers/{ID}/saved_payment_methods"),
    ("POST", "/v2/customers"), ("GET", "/v2/customers/list"), ("GET", f"/v2/customers/{ID}/saved-payment-methods"),
    ("POST", "/payment_methods"), ("GET", f"/payment_methods/{PM}"), ("POST", f"/payment_methods/{PM}"),
    ("PATCH", f"/payment_methods/{PM}/update_saved_payment_method"), ("DELETE", f"/payment_methods/{PM}"),
    ("GET", f"/payment_methods/{PM}/check_network_token_status"), ("POST", f"/payment_methods/{PM}/get_token"),
    ("GET", "/payment_methods/network_token_eligibility?card_bin=424242"),
    ("POST", "/v2/payment-methods"), ("GET", f"/v2/payment-methods/{PM}"),
    ("PUT", f"/v2/payment-methods/{PM}/update-saved-payment-method"), ("GET", f"/v2/payment-methods/{PM}/get-token"),
]  # fmt: skip


def bad_credentials(tenant):
    """(case, headers without the client's own, expected status, expected code)."""
    key, profile = tenant.key, tenant.profile.id
    return [
        ("key in the query string only", {"X-Profile-Id": profile}, 401, "IR_01"),
        ("Bearer instead of api-key", {"Authorization": f"Bearer {key}", "X-Profile-Id": profile}, 401, "IR_01"),
        ("empty api-key part", {"Authorization": "api-key=", "X-Profile-Id": profile}, 401, "IR_01"),
        ("doubled key header", {"api-key": f"{key},{key}", "X-Profile-Id": profile}, 401, "IR_01"),
        ("key with trailing junk", {"api-key": key + "x", "X-Profile-Id": profile}, 401, "IR_01"),
        ("truncated key", {"api-key": key[:-1], "X-Profile-Id": profile}, 401, "IR_01"),
        ("SQL as the key", {"api-key": "' OR '1'='1", "X-Profile-Id": profile}, 401, "IR_01"),
        (
            "two different keys",
            {"api-key": key, "Authorization": "api-key=vlt_other", "X-Profile-Id": profile},
            400,
            "IR_06",
        ),
        ("doubled profile header", {"api-key": key, "X-Profile-Id": f"{profile},{profile}"}, 422, "IR_06"),
        ("SQL as the profile", {"api-key": key, "X-Profile-Id": "pro_' OR 1=1 --aaaaaaaa"}, 422, "IR_06"),
        ("NUL in the profile", {"api-key": key, "X-Profile-Id": profile[:-1] + "\x00"}, 422, "IR_06"),
    ]


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_hostile_credentials_are_refused_on_every_route(tenant, method, path):
    before = stored_counts()
    for case, headers, status, code in bad_credentials(tenant):
        client = VaultClient(None, None)
        target = path + ("&" if "?" in path else "?") + f"api-key={tenant.key}&api_key={tenant.key}"
        response = client.request(
            method, target, {"name": "x"} if method in ("POST", "PUT", "PATCH") else None, headers=headers
        )
        body = assert_error(response, status, code)
        assert tenant.key not in response.content.decode(), case
        assert body["error"]["message"], case
    assert stored_counts() == before
