"""API keys: random, prefixed, stored only as a keyed hash, last use written at most once a minute."""

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from merchants import keys
from merchants.models import ApiKey
from tests.conftest import issue_key


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
    api.get("/customers")
    assert ApiKey.objects.get(pk=tenant.api_key.pk).last_used_at > first


def test_a_key_expires_at_its_time(tenant):
    from tests.conftest import VaultClient

    key = issue_key(tenant, expires_in=timedelta(hours=1))
    client = VaultClient(key, tenant.profile.id)
    assert client.get("/customers").status_code == 200
    ApiKey.objects.filter(key_id=keys.parse_key_id(key)).update(expires_at=timezone.now())
    assert client.get("/customers").status_code == 401
