"""Read merchants, profiles and keys."""

from django.db.models import Count, QuerySet

from merchants import keys
from merchants.models import ApiKey, ApiKeyState, Merchant, Profile, api_key_state_condition

# Verifying an unknown key id costs the same HMAC as a known one.
_UNKNOWN_KEY_HASH = f"{keys.HASH_ALGORITHM}${'0' * 64}"


def api_key_verify(*, plaintext: str) -> ApiKey | None:
    """Return the live key that *plaintext* is, or None for an unknown, revoked or expired key."""
    key_id = keys.parse_key_id(plaintext)
    if key_id is None:
        return None
    api_key = ApiKey.objects.select_related("merchant").filter(key_id=key_id).first()
    if not keys.key_matches(plaintext, api_key.secret_hash if api_key else _UNKNOWN_KEY_HASH) or api_key is None:
        return None
    return api_key if api_key.state == ApiKeyState.LIVE else None


def profile_get_for_merchant(*, merchant: Merchant, profile_id: str) -> Profile | None:
    return Profile.objects.filter(merchant=merchant, id=profile_id).first()


def merchant_get(*, merchant_id: str) -> Merchant | None:
    return Merchant.objects.filter(id=merchant_id).first()


def api_key_get(*, key_id: str) -> ApiKey | None:
    return ApiKey.objects.select_related("merchant").filter(key_id=key_id).first()


def merchants_list() -> QuerySet[Merchant]:
    """Every merchant by name, with how many profiles and live keys it has."""
    live = api_key_state_condition(ApiKeyState.LIVE, through="api_keys__")
    return Merchant.objects.annotate(
        profile_total=Count("profiles", distinct=True),
        live_key_total=Count("api_keys", filter=live, distinct=True),
    ).order_by("name", "id")


def api_keys_list(*, merchant: Merchant | None = None) -> QuerySet[ApiKey]:
    """Keys, newest first, of one merchant or of all: never their secrets, which are not stored."""
    api_keys = ApiKey.objects.select_related("merchant").order_by("-created_at")
    return api_keys.filter(merchant=merchant) if merchant is not None else api_keys


def profile_get(*, profile_id: str) -> Profile | None:
    return Profile.objects.select_related("merchant").filter(id=profile_id).first()
