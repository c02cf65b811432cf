"""API keys: random, prefixed, stored only as a keyed hash, last use written at most once a minute."""

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from merchants import keys
from merchants.credential_cache import credential_cache
from merchants.models import ApiKey
from tests.helpers.api import VaultClient
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
    import time

    time.sleep(2.1)
    assert client.get("/customers").status_code == 401


def test_the_cache_can_be_switched_off(api, tenant, settings):
    settings.VAULT_API_KEY_CACHE_SECONDS = 0
    api.get("/customers")
    with CaptureQueriesContext(connection) as queries:
        api.get("/customers")
    assert any("merchants_apikey" in q["sql"] for q in queries.captured_queries)
