"""API keys: random, prefixed, stored only as a keyed hash, last use written at most once a minute."""

import time
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from merchants import keys
from merchants.credential_cache import (
    REVOCATION_CHECK_SECONDS,
    CredentialCache,
    announce_revocation,
    credential_cache,
)
from merchants.models import ApiKey
from tests.helpers.api import VaultClient, assert_error
from tests.helpers.tenants import issue_key


def test_keys_carry_256_random_bits_and_a_prefix():
    seen = {keys.generate_key()[1] for _ in range(200)}
    assert len(seen) == 200
    for key in seen:
        assert key.startswith("vlt_")
        key_id = keys.parse_key_id(key)
        assert key_id == key[4:20]
        assert len(key[21:]) == 43  # 32 random bytes, url-safe base64


def test_only_a_keyed_hash_is_stored(tenant, settings):
    row = ApiKey.objects.filter(key_id=tenant.api_key.key_id).values().get()
    assert tenant.key not in str(row)
    assert tenant.key[21:] not in str(row)
    assert row["secret_hash"].startswith("hmac_sha256$")
    settings.VAULT_API_KEY_PEPPER = "another-pepper-0123456789abcdefghijklmn"
    # Under another pepper the same key no longer verifies: the hash is keyed, not plain.
    assert not keys.key_matches(tenant.key, row["secret_hash"])


def test_last_used_at_is_written_at_most_once_a_minute(api, tenant):
    api.get("/customers")
    first = ApiKey.objects.get(pk=tenant.api_key.pk).last_used_at
    assert first is not None
    with CaptureQueriesContext(connection) as queries:
        api.get("/customers")
    key_updates = [
        q for q in queries.captured_queries if q["sql"].lstrip().upper().startswith('UPDATE "MERCHANTS_APIKEY"')
    ]
    assert not key_updates
    ApiKey.objects.filter(pk=tenant.api_key.pk).update(last_used_at=timezone.now() - timedelta(seconds=61))
    credential_cache.clear()  # as another process would, or this one after VAULT_API_KEY_CACHE_SECONDS
    api.get("/customers")
    assert ApiKey.objects.get(pk=tenant.api_key.pk).last_used_at > first


def test_a_key_expires_at_its_time(tenant):
    key = issue_key(tenant, expires_in=timedelta(hours=1))
    client = VaultClient(key, tenant.profile.id)
    assert client.get("/customers").status_code == 200
    ApiKey.objects.filter(key_id=keys.parse_key_id(key)).update(expires_at=timezone.now())
    credential_cache.clear()  # a change made elsewhere reaches this process within the cache's lifetime
    assert client.get("/customers").status_code == 401


def test_a_verified_key_is_remembered_briefly_and_forgotten_on_revocation(api, tenant, settings):
    from audit.actors import Actor
    from merchants.services import api_key_revoke

    settings.VAULT_API_KEY_CACHE_SECONDS = 5
    api.get("/customers")
    with CaptureQueriesContext(connection) as queries:
        assert api.get("/customers").status_code == 200
    assert not any("merchants_apikey" in q["sql"] or "merchants_profile" in q["sql"] for q in queries.captured_queries)
    # Revoked in this process: refused at once.
    api_key_revoke(actor=Actor(kind="operator", id="t"), api_key=ApiKey.objects.get(pk=tenant.api_key.pk))
    assert api.get("/customers").status_code == 401


def test_a_remembered_key_is_refused_once_it_expires(api, tenant, settings):
    settings.VAULT_API_KEY_CACHE_SECONDS = 5
    key = issue_key(tenant, expires_in=timedelta(seconds=2))
    client = VaultClient(key, tenant.profile.id)
    assert client.get("/customers").status_code == 200
    time.sleep(2.1)
    assert client.get("/customers").status_code == 401


def test_the_cache_can_be_switched_off(api, tenant, settings):
    settings.VAULT_API_KEY_CACHE_SECONDS = 0
    api.get("/customers")
    with CaptureQueriesContext(connection) as queries:
        api.get("/customers")
    assert any("merchants_apikey" in q["sql"] for q in queries.captured_queries)


# --- revocation across processes --------------------------------------------------------------------


def _remembered(cache: CredentialCache, tenant) -> bool:
    return cache.get("digest", tenant.profile.id) is not None


def _remember(cache: CredentialCache, tenant) -> None:
    cache.put("digest", tenant.profile.id, tenant.api_key, tenant.profile, 5, generation=cache.begin())


def test_a_request_verifying_a_key_during_its_revocation_cannot_put_it_back(tenant):
    cache = CredentialCache()
    generation = cache.begin()  # a request starts verifying the key...
    cache.clear()  # ...the key is revoked meanwhile...
    cache.put("digest", tenant.profile.id, tenant.api_key, tenant.profile, 5, generation=generation)
    assert not _remembered(cache, tenant)  # ...and what it read before the revocation is not kept


def test_a_revocation_announced_through_redis_reaches_another_process_within_a_second(tenant, settings, redis_server):
    settings.REDIS_URL = redis_server.url
    other_process = CredentialCache()
    _remember(other_process, tenant)
    assert _remembered(other_process, tenant)
    announce_revocation()
    started = time.monotonic()
    while _remembered(other_process, tenant):
        assert time.monotonic() - started < 1.0, "the other process still trusts the revoked key"
        time.sleep(0.05)


def test_a_key_revoked_in_another_process_is_refused_here_within_a_second(api, tenant, settings, redis_server):
    settings.REDIS_URL = redis_server.url
    settings.VAULT_API_KEY_CACHE_SECONDS = 60
    assert api.get("/customers").status_code == 200  # remembered here for a minute
    # What api_key_revoke does in another process: the row changes, then the epoch is announced.
    ApiKey.objects.filter(pk=tenant.api_key.pk).update(revoked_at=timezone.now())
    announce_revocation()
    time.sleep(REVOCATION_CHECK_SECONDS + 0.1)
    assert_error(api.get("/customers"), 401, "IR_01")


def test_with_redis_unreadable_the_cache_is_not_trusted(api, tenant, settings, redis_server):
    settings.REDIS_URL = redis_server.url
    settings.VAULT_API_KEY_CACHE_SECONDS = 60
    cache = CredentialCache()
    _remember(cache, tenant)
    redis_server.stop()
    time.sleep(REVOCATION_CHECK_SECONDS + 0.1)
    assert not _remembered(cache, tenant)
    _remember(cache, tenant)
    assert not _remembered(cache, tenant)
    # Requests still authenticate, from the database each time.
    ApiKey.objects.filter(pk=tenant.api_key.pk).update(revoked_at=timezone.now())
    assert_error(api.get("/customers"), 401, "IR_01")
