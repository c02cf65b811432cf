"""API-key authentication, as the upstream API: `Authorization: api-key=<key>` or `api-key: <key>`,
plus an `X-Profile-Id` naming a profile of the key's merchant.

Failure order: no key or a bad one → 401; missing or malformed profile header → 422; a profile
that is not the merchant's → 401. Unknown, revoked and expired keys answer the same body.
"""

from dataclasses import dataclass

from django.conf import settings
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from core import errors
from merchants import keys
from merchants.credential_cache import credential_cache
from merchants.models import PROFILE_ID_RE, ApiKey, ApiKeyState, Merchant, Profile
from merchants.selectors import api_key_verify, profile_get_for_merchant
from merchants.services import api_key_touch


@dataclass(frozen=True, slots=True)
class ApiPrincipal:
    """The caller of an API request: a merchant acting through one profile with one key."""

    merchant: Merchant
    profile: Profile
    api_key: ApiKey

    is_authenticated = True

    def has_scope(self, scope: str) -> bool:
        # A list, never a string: `in` on a string would match substrings.
        granted = self.api_key.scopes
        return isinstance(granted, list) and scope in granted


def extract_api_key(meta: dict) -> str | None:
    """Return the key sent in either header form; two different keys, or a repeated `api-key`
    header, → 400."""
    found: set[str] = set()
    for part in meta.get("HTTP_AUTHORIZATION", "").split(","):
        name, sep, value = part.strip().partition("=")
        if sep and name.strip().lower() == "api-key" and value.strip():
            found.add(value.strip())
    header_key = meta.get("HTTP_API_KEY", "").strip()
    # Servers join a repeated header with commas; a key never contains one.
    if "," in header_key:
        raise errors.InvalidRequest("The api-key header was sent more than once")
    if header_key:
        found.add(header_key)
    if len(found) > 1:
        raise errors.InvalidRequest("Two different API keys were sent in one request")
    return found.pop() if found else None


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ApiPrincipal, ApiKey]:
        plaintext = extract_api_key(request.META)
        if plaintext is None:
            raise errors.Unauthenticated()
        cached = self._cached(plaintext, request.META.get("HTTP_X_PROFILE_ID"))
        if cached is not None:
            return cached
        generation = credential_cache.begin()
        api_key = api_key_verify(plaintext=plaintext)
        if api_key is None:
            raise errors.Unauthenticated()
        profile_id = request.META.get("HTTP_X_PROFILE_ID")
        if not profile_id:
            raise errors.ProfileHeaderMissing()
        if not PROFILE_ID_RE.fullmatch(profile_id):
            raise errors.ProfileHeaderInvalid()
        profile = profile_get_for_merchant(merchant=api_key.merchant, profile_id=profile_id)
        if profile is None:
            raise errors.Unauthenticated()
        if settings.VAULT_API_KEY_CACHE_SECONDS > 0:
            credential_cache.put(
                keys.hash_key(plaintext),
                profile_id,
                api_key,
                profile,
                settings.VAULT_API_KEY_CACHE_SECONDS,
                generation=generation,
            )
        return self._principal(api_key, profile)

    def _cached(self, plaintext: str, profile_id: str | None) -> tuple[ApiPrincipal, ApiKey] | None:
        """A recently verified key and profile pair, still unexpired; None to verify afresh."""
        if settings.VAULT_API_KEY_CACHE_SECONDS <= 0 or not profile_id or not PROFILE_ID_RE.fullmatch(profile_id):
            return None
        hit = credential_cache.get(keys.hash_key(plaintext), profile_id)
        if hit is None:
            return None
        api_key, profile = hit
        if api_key.state != ApiKeyState.LIVE:
            return None
        return self._principal(api_key, profile)

    def _principal(self, api_key: ApiKey, profile: Profile) -> tuple[ApiPrincipal, ApiKey]:
        api_key_touch(api_key=api_key, interval_seconds=settings.VAULT_KEY_LAST_USED_INTERVAL_SECONDS)
        return ApiPrincipal(merchant=api_key.merchant, profile=profile, api_key=api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return "api-key"
