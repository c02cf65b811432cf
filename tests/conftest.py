"""Fixtures: two merchants with keys, and an API client for each. Helpers live in tests/helpers/."""

import pytest

from tests.helpers.api import VaultClient
from tests.helpers.redis_server import RedisProcess
from tests.helpers.tenants import Tenant, make_tenant


@pytest.fixture
def tenant(db) -> Tenant:
    return make_tenant("Merchant A")


@pytest.fixture
def other_tenant(db) -> Tenant:
    return make_tenant("Merchant B")


@pytest.fixture
def api(tenant) -> VaultClient:
    return VaultClient(tenant.key, tenant.profile.id)


@pytest.fixture
def other_api(other_tenant) -> VaultClient:
    return VaultClient(other_tenant.key, other_tenant.profile.id)


@pytest.fixture(autouse=True)
def fresh_credential_cache():
    """Each test starts with no verified key remembered by this process, nor any revocation epoch seen."""
    from merchants.credential_cache import credential_cache

    credential_cache.reset()
    yield
    credential_cache.reset()


@pytest.fixture
def redis_server():
    """A Redis server of this test's own on 127.0.0.1, which the test may stop."""
    server = RedisProcess()
    yield server
    server.stop()
