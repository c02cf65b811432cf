"""Merchant keys: the middle of the key hierarchy (see tokens/custody/).

Each merchant has its own key-encryption key, generated here on the merchant's first card, stored
only wrapped by the root key, and unwrapped on use. An unwrapped key is kept in this process's memory
for VAULT_MERCHANT_KEY_CACHE_SECONDS (0: not kept), at most CACHE_ENTRIES of them, so the key
provider is asked once per merchant and period, not once per card. While the provider is down, keys
in the cache keep serving until they expire; the others answer 503.

A key enters the cache only once the transaction that created it has committed, so a rolled-back
key can never seal a card.
"""

import base64
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from tokens.custody import root_provider
from tokens.keys import DecryptionFailed
from tokens.models import MerchantKey

KEY_BYTES = 32
CACHE_ENTRIES = 10_000  # a bound on memory: a merchant key is 32 bytes plus its entry


def wrap_context(merchant_id: str, version: int) -> dict[str, str]:
    """What a wrapped merchant key is bound to: it opens for this merchant and version only."""
    return {"purpose": "merchant-key", "merchant": merchant_id, "version": str(version)}


@dataclass(frozen=True, slots=True, repr=False)
class _Entry:
    key: bytes
    expires: float


class _KeyCache:
    """(merchant, version) → unwrapped key, and merchant → active version, each with an expiry."""

    def __init__(self) -> None:
        self._keys: OrderedDict[tuple[str, int], _Entry] = OrderedDict()
        self._active: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _ttl() -> float:
        return float(settings.VAULT_MERCHANT_KEY_CACHE_SECONDS)

    def key(self, merchant_id: str, version: int) -> bytes | None:
        with self._lock:
            entry = self._keys.get((merchant_id, version))
            if entry is None or entry.expires <= time.monotonic():
                return None
            self._keys.move_to_end((merchant_id, version))
            return entry.key

    def active(self, merchant_id: str) -> int | None:
        with self._lock:
            cached = self._active.get(merchant_id)
            return cached[0] if cached and cached[1] > time.monotonic() else None

    def put(self, merchant_id: str, version: int, key: bytes, *, active: bool) -> None:
        ttl = self._ttl()
        if ttl <= 0:
            return
        expires = time.monotonic() + ttl
        with self._lock:
            self._keys[(merchant_id, version)] = _Entry(key, expires)
            self._keys.move_to_end((merchant_id, version))
            if active:
                self._active[merchant_id] = (version, expires)
            while len(self._keys) > CACHE_ENTRIES:
                (old_merchant, _), _ = self._keys.popitem(last=False)
                self._active.pop(old_merchant, None)

    def forget(self, merchant_id: str | None = None) -> None:
        with self._lock:
            if merchant_id is None:
                self._keys.clear()
                self._active.clear()
                return
            for cached in [cached for cached in self._keys if cached[0] == merchant_id]:
                del self._keys[cached]
            self._active.pop(merchant_id, None)


cache = _KeyCache()


@sensitive_variables("key")
def _unwrap(row: MerchantKey) -> bytes:
    if row.state == MerchantKey.State.DESTROYED or not row.wrapped_key:
        raise DecryptionFailed(f"merchant key {row.version} of this merchant was destroyed")
    provider = root_provider(row.root_provider)
    key = provider.unwrap(
        row.root_version, base64.b64decode(row.wrapped_key), wrap_context(row.merchant_id, row.version)
    )
    if len(key) != KEY_BYTES:
        raise DecryptionFailed("the merchant key unwrapped to the wrong length")
    return key


def merchant_key(merchant_id: str, version: int) -> bytes:
    """The unwrapped key *version* of *merchant_id*, or DecryptionFailed if it does not exist or was
    destroyed; KeyProviderUnavailable if the provider cannot be asked now."""
    key = cache.key(merchant_id, version)
    if key is not None:
        return key
    row = MerchantKey.unscoped.filter(merchant_id=merchant_id, version=version).first()
    if row is None:
        raise DecryptionFailed(f"merchant key {version} does not exist for this merchant")
    key = _unwrap(row)
    cache.put(merchant_id, version, key, active=False)
    return key


def active_key(merchant_id: str) -> tuple[int, bytes]:
    """The merchant's active key (version, key), created on the merchant's first card."""
    version = cache.active(merchant_id)
    if version is not None and (key := cache.key(merchant_id, version)) is not None:
        return version, key
    row = MerchantKey.unscoped.filter(merchant_id=merchant_id, state=MerchantKey.State.ACTIVE).first()
    if row is None:
        return _create(merchant_id)
    key = cache.key(merchant_id, row.version) or _unwrap(row)
    cache.put(merchant_id, row.version, key, active=True)
    return row.version, key


@sensitive_variables("key")
def _new_row(merchant_id: str, version: int) -> tuple[MerchantKey, bytes]:
    """A new merchant key, generated here and wrapped by the active provider (not yet saved)."""
    key = os.urandom(KEY_BYTES)
    provider = root_provider()
    root_version, blob = provider.wrap(key, wrap_context(merchant_id, version))
    row = MerchantKey(
        merchant_id=merchant_id,
        version=version,
        wrapped_key=base64.b64encode(blob).decode(),
        root_provider=provider.name,
        root_version=root_version,
    )
    return row, key


def _next_version(merchant_id: str) -> int:
    newest = MerchantKey.unscoped.filter(merchant_id=merchant_id).order_by("-version").values_list("version", flat=True)
    return (newest.first() or 0) + 1


def _create(merchant_id: str) -> tuple[int, bytes]:
    """Create the merchant's first key; a concurrent creation wins and its key is used instead."""
    row, key = _new_row(merchant_id, _next_version(merchant_id))
    try:
        with transaction.atomic():  # a savepoint when called inside a request's transaction
            row.save(force_insert=True)
    except IntegrityError:
        existing = MerchantKey.unscoped.get(merchant_id=merchant_id, state=MerchantKey.State.ACTIVE)
        return existing.version, _unwrap(existing)
    transaction.on_commit(lambda: cache.put(merchant_id, row.version, key, active=True))
    return row.version, key


def rotate_merchant_key(merchant_id: str) -> tuple[MerchantKey, MerchantKey | None]:
    """Retire the merchant's active key and make a new one active; answer (new, retired).

    Run inside the caller's transaction (with its audit row). Cards stay under the retired key until
    `rotate_keys` re-wraps them; until then the retired key keeps opening them."""
    current = (
        MerchantKey.unscoped.select_for_update().filter(merchant_id=merchant_id, state=MerchantKey.State.ACTIVE).first()
    )
    if current is not None:
        current.state, current.retired_at = MerchantKey.State.RETIRED, timezone.now()
        current.save(update_fields=["state", "retired_at"])
    row, key = _new_row(merchant_id, _next_version(merchant_id))
    row.save(force_insert=True)
    cache.forget(merchant_id)
    transaction.on_commit(lambda: cache.put(merchant_id, row.version, key, active=True))
    return row, current


def keys_under_old_root():
    """Merchant keys not wrapped by the active provider's active root version."""
    provider = root_provider()
    return (
        MerchantKey.unscoped.exclude(state=MerchantKey.State.DESTROYED)
        .exclude(root_provider=provider.name, root_version=provider.active_version())
        .order_by("id")
    )


@sensitive_variables("key")
def rewrap_under_active_root(row: MerchantKey) -> None:
    """Re-wrap one merchant key under the active root key (the key itself is unchanged)."""
    key = _unwrap(row)
    provider = root_provider()
    root_version, blob = provider.wrap(key, wrap_context(row.merchant_id, row.version))
    row.wrapped_key, row.root_provider, row.root_version = base64.b64encode(blob).decode(), provider.name, root_version
    row.rewrapped_at = timezone.now()
    row.save(update_fields=["wrapped_key", "root_provider", "root_version", "rewrapped_at"])


def destroy_merchant_keys(merchant_id: str) -> list[int]:
    """Destroy every key of the merchant (crypto-shredding); answer the versions destroyed. Run in the
    caller's transaction. This process forgets them at once; another forgets them when its cache
    entry expires, and by then nothing they could open is left in the database."""
    rows = list(
        MerchantKey.unscoped.select_for_update()
        .filter(merchant_id=merchant_id)
        .exclude(state=MerchantKey.State.DESTROYED)
        .order_by("version")
    )
    MerchantKey.unscoped.filter(pk__in=[row.pk for row in rows]).update(
        state=MerchantKey.State.DESTROYED, wrapped_key="", destroyed_at=timezone.now()
    )
    cache.forget(merchant_id)
    transaction.on_commit(lambda: cache.forget(merchant_id))
    return [row.version for row in rows]
