"""Per-key rate limits in a shared store: 429 with Retry-After, other merchants unaffected."""

import pytest

from audit.actors import operator_actor
from customers.models import Customer
from merchants import rate_limits
from merchants.models import RateLimitCounter
from merchants.rate_limits import store_outages
from merchants.services import merchant_set_rate_limit
from tests.helpers.api import VaultClient, assert_error
from tests.helpers.customers import CUSTOMER_BODY
from tests.helpers.redis_server import RedisProcess


@pytest.fixture(params=["database", "redis"])
def store(request, settings):
    if request.param == "redis":
        settings.REDIS_URL = request.getfixturevalue("redis_server").url
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


# --- Redis unreachable -------------------------------------------------------------------------------


@pytest.fixture
def outage_report():
    """A fresh once-a-minute report, so each test sees its own first log line."""
    store_outages.since_report, store_outages.last_report = 0, float("-inf")
    return store_outages


def test_with_redis_down_the_allow_policy_serves_uncounted_and_logs_once(
    api, settings, redis_server, caplog, outage_report
):
    settings.REDIS_URL = redis_server.url
    settings.VAULT_RATE_LIMIT_PER_MINUTE = 2
    settings.VAULT_RATE_LIMIT_ON_STORE_ERROR = "allow"
    assert api.get("/customers").status_code == 200
    redis_server.stop()
    statuses = [api.get("/customers").status_code for _ in range(5)]
    assert statuses == [200] * 5  # over the limit of 2, but nothing could count them
    assert api.post("/customers", CUSTOMER_BODY).status_code == 200
    reports = [record for record in caplog.records if "rate-limit store unreachable" in record.getMessage()]
    assert len(reports) == 1 and "ConnectionError" in reports[0].getMessage()
    assert outage_report.since_report == 5


def test_with_redis_down_the_deny_policy_answers_503_never_500(api, settings, redis_server, outage_report):
    settings.REDIS_URL = redis_server.url
    settings.VAULT_RATE_LIMIT_ON_STORE_ERROR = "deny"
    redis_server.stop()
    before = Customer.objects.count()
    for response in (api.get("/customers"), api.post("/customers", CUSTOMER_BODY)):
        body = assert_error(response, 503, "HE_00")
        assert "rate limiter" in body["error"]["message"]
    assert Customer.objects.count() == before


def test_redis_back_after_an_outage_counts_again(api, settings, redis_server, outage_report):
    settings.REDIS_URL = redis_server.url
    settings.VAULT_RATE_LIMIT_PER_MINUTE = 1
    port = redis_server.port
    redis_server.stop()
    assert api.get("/customers").status_code == 200
    restarted = RedisProcess(port=port)
    try:
        assert [api.get("/customers").status_code for _ in range(2)] == [200, 429]
    finally:
        restarted.stop()


# --- Counts leased in blocks -----------------------------------------------------------------------


def test_a_large_limit_takes_counts_from_the_store_in_blocks(api, tenant, settings, redis_server):
    settings.REDIS_URL = redis_server.url
    settings.VAULT_RATE_LIMIT_PER_MINUTE = 20_000  # a lease of 20 counts
    statuses = [api.get("/customers").status_code for _ in range(45)]
    assert set(statuses) == {200}
    import redis

    client = redis.Redis.from_url(redis_server.url)
    (key,) = client.keys(f"vault:rate:{tenant.api_key.key_id}:*")
    assert int(client.get(key)) == 60  # three store round trips for 45 requests


@pytest.mark.parametrize("limit", [10_000, 999])
def test_leased_counts_never_admit_more_than_the_limit_across_processes(settings, store, limit, db):
    """Three processes (each its own lease table) share one bucket in random order: every count is
    unique, at most *limit* requests are admitted, and at most (lease - 1) counts per process are lost."""
    import random

    settings.VAULT_RATE_LIMIT_LEASE = 32
    processes = [rate_limits._Leases() for _ in range(3)]
    counts = [random.choice(processes).count("shared-bucket", 60, limit) for _ in range(limit + 500)]
    admitted = sum(count <= limit for count in counts)
    lease = rate_limits.lease_size(limit)
    assert lease == (10 if limit == 10_000 else 1)
    assert len(set(counts) - {c for c in counts if c > limit}) == admitted  # admitted counts are unique
    assert limit - 3 * (lease - 1) <= admitted <= limit


def test_a_process_past_the_limit_refuses_without_asking_the_store(api, settings, redis_server, outage_report):
    settings.REDIS_URL = redis_server.url
    settings.VAULT_RATE_LIMIT_PER_MINUTE = 2
    assert [api.get("/customers").status_code for _ in range(3)] == [200, 200, 429]
    redis_server.stop()  # the window's count is known to be past the limit: no need for the store
    assert_error(api.get("/customers"), 429, "RE_00")
    assert outage_report.since_report == 0


def test_raising_a_limit_within_the_window_admits_again(api, tenant, settings, store):
    settings.VAULT_RATE_LIMIT_PER_MINUTE = 2
    assert [api.get("/customers").status_code for _ in range(3)] == [200, 200, 429]
    merchant_set_rate_limit(actor=operator_actor(), merchant=tenant.merchant, per_minute=4)
    # The refusal was not counted (the process knew the window was past the limit): two more fit.
    assert [api.get("/customers").status_code for _ in range(3)] == [200, 200, 429]


def test_a_new_window_asks_the_store_again(settings, store, db):
    leases = rate_limits._Leases()
    assert [leases.count("bucket", 60, 1) for _ in range(3)] == [1, 2, 2]  # past the limit: no store call
    assert leases.count("bucket", 120, 1) == 1
