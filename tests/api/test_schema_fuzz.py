"""Schema fuzzing: schemathesis generates requests from the vault's own OpenAPI document and sends
them over HTTP to the vault served on 127.0.0.1.

Bounded (a fixed number of examples per operation, no deadline), NUL bytes allowed in generated
strings, with two merchants' data in the database. Checks: no server error, and every response
conforms to the schema the vault publishes.
"""

import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from merchants import scopes
from tests.helpers.api import VaultClient
from tests.helpers.customers import create_customer
from tests.helpers.payment_methods import create_payment_method
from tests.helpers.tenants import issue_key, make_tenant

EXAMPLES_PER_OPERATION = 25

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))


@pytest.fixture
def fuzz_target(live_server, transactional_db):
    """Merchant A's reveal-capable key; merchant B owns data too, which A must never reach."""
    mine = make_tenant("Fuzz A")
    theirs = make_tenant("Fuzz B")
    for tenant in (mine, theirs):
        api = VaultClient(tenant.key, tenant.profile.id)
        create_payment_method(api, create_customer(api)["id"])
    key = issue_key(mine, key_scopes=list(scopes.ALL_SCOPES))
    return live_server.url, {"api-key": key, "X-Profile-Id": mine.profile.id}


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors_and_responses_match_the_schema(case, fuzz_target):
    base_url, headers = fuzz_target
    case.headers = {**(case.headers or {}), **headers}
    case.call_and_validate(base_url=base_url, checks=[not_a_server_error, response_schema_conformance])
