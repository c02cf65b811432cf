"""One definition of a live key: ApiKey.state in Python and ApiKey.objects.live() in SQL agree."""

from datetime import timedelta

from django.db.models import Count
from django.utils import timezone

from merchants.models import ApiKey, ApiKeyState, Merchant, api_key_state_condition
from tests.helpers.tenants import issue_key


def _keys(tenant):
    live = ApiKey.objects.get(key_id=tenant.api_key.key_id)
    expiring = ApiKey.objects.get(key_id=issue_key(tenant, expires_in=timedelta(days=1)).split("_")[1])
    expired = ApiKey.objects.get(key_id=issue_key(tenant).split("_")[1])
    expired.expires_at = timezone.now() - timedelta(seconds=1)
    expired.save(update_fields=["expires_at"])
    revoked = ApiKey.objects.get(key_id=issue_key(tenant).split("_")[1])
    revoked.revoked_at = timezone.now()
    # Revoked and past its expiry: revoked is what it is.
    revoked.expires_at = timezone.now() - timedelta(seconds=1)
    revoked.save(update_fields=["revoked_at", "expires_at"])
    return {ApiKeyState.LIVE: {live, expiring}, ApiKeyState.EXPIRED: {expired}, ApiKeyState.REVOKED: {revoked}}


def test_state_and_the_queryset_agree_for_every_state(tenant):
    expected = _keys(tenant)
    for state, keys in expected.items():
        assert {key.state for key in keys} == {state}
        assert set(ApiKey.objects.filter(merchant=tenant.merchant).in_state(state)) == keys
    assert set(ApiKey.objects.filter(merchant=tenant.merchant).live()) == expected[ApiKeyState.LIVE]


def test_the_condition_counts_live_keys_through_the_merchant(tenant, other_tenant):
    _keys(tenant)
    counted = Merchant.objects.annotate(
        live=Count("api_keys", filter=api_key_state_condition(ApiKeyState.LIVE, through="api_keys__"), distinct=True)
    )
    assert {merchant.id: merchant.live for merchant in counted} == {tenant.merchant.id: 2, other_tenant.merchant.id: 1}
