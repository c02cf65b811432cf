"""Per-key rate limits in a shared store: 429 with Retry-After, other merchants unaffected."""

import pytest

from merchants.models import RateLimitCounter
from tests.helpers.api import VaultClient, assert_error
from tests.helpers.customers import CUSTOMER_BODY


@pytest.fixture(params=["database", "redis"])
def store(request, settings):
    if request.param == "redis":
        import redis

        try:
            redis.Redis.from_url("redis://127.0.0.1:6379/15", socket_connect_timeout=1).ping()
        except redis.RedisError:
            pytest.skip("no Redis on 127.0.0.1:6379")
        redis.Redis.from_url("redis://127.0.0.1:6379/15").flushdb()
        settings.REDIS_URL = "redis://127.0.0.1:6379/15"
    else:
        settings.REDIS_URL = ""
    return request.param


def test_a_burst_over_the_limit_is_429_and_others_are_unaffected(api, other_api, tenant, settings, store):
    settings.VAULT_RATE_LIMIT_PER_MINUTE = 5
    assert [api.get("/customers").status_code for _ in range(5)] == [200] * 5
    refused = api.get("/customers")
    body = assert_error(refused, 429, "RE_00")
    retry_after = int(refused["Retry-After"])
    assert 1 <= retry_after <= 60 and body["error"]["retry_after"] == retry_after
    assert_error(api.post("/customers", CUSTOMER_BODY), 429, "RE_00")
    assert other_api.get("/customers").status_code == 200
    if store == "database":
        assert RateLimitCounter.objects.exists()


def test_a_merchant_may_have_its_own_limit(api, tenant, settings, store):
    settings.VAULT_RATE_LIMIT_PER_MINUTE = 1
    tenant.merchant.rate_limit_per_minute = 3
    tenant.merchant.save()
    assert [api.get("/customers").status_code for _ in range(4)] == [200, 200, 200, 429]


def test_zero_switches_the_limit_off(api, tenant, settings, store):
    settings.VAULT_RATE_LIMIT_PER_MINUTE = 1
    tenant.merchant.rate_limit_per_minute = 0
    tenant.merchant.save()
    assert {api.get("/customers").status_code for _ in range(5)} == {200}


def test_bad_keys_are_not_counted_against_a_good_one(api, tenant, settings, store):
    settings.VAULT_RATE_LIMIT_PER_MINUTE = 2
    for _ in range(5):
        VaultClient("vlt_" + "x" * 16 + "_" + "y" * 43, tenant.profile.id).get("/customers")
    assert [api.get("/customers").status_code for _ in range(2)] == [200, 200]
