"""Key custody (tokens/custody/, tokens/merchant_keys.py): the root key stays in its provider, each
merchant has its own key stored only wrapped, a root rotation touches one row per merchant, an
installation moves from the keyring to an HSM or KMS without downtime, and a provider that cannot be
reached answers 503 (with cached merchant keys serving until they expire), never 500.

Every provider is the real one: the keyring, a SoftHSM2 token, moto's KMS server in a process of its own.
"""

import base64
import os
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from api import health
from audit.models import AuditEvent
from merchants import scopes
from tests.conftest import use_key_provider
from tests.helpers.api import VaultClient, assert_error
from tests.helpers.customers import create_customer
from tests.helpers.key_providers import ROOT_LABEL, SPARE_TOKEN_LABEL, MotoServer
from tests.helpers.payment_methods import card_body, card_number, create_payment_method
from tests.helpers.tenants import issue_key
from tokens import merchant_keys
from tokens.custody import forget_providers, root_provider
from tokens.keys import DecryptionFailed
from tokens.models import MerchantKey, PaymentMethod


def revealer_for(tenant) -> VaultClient:
    return VaultClient(issue_key(tenant, key_scopes=scopes.ALL_SCOPES), tenant.profile.id)


@pytest.fixture
def revealer(tenant) -> VaultClient:
    return revealer_for(tenant)


@pytest.fixture
def other_revealer(other_tenant) -> VaultClient:
    return revealer_for(other_tenant)


def vault_cards(client: VaultClient, count: int, start: int = 0) -> dict[str, str]:
    customer_id = create_customer(client)["id"]
    numbers = [card_number(start + index) for index in range(count)]
    return {create_payment_method(client, customer_id, number)["id"]: number for number in numbers}


def reveal(client: VaultClient, payment_method_id: str):
    return client.get(f"/payment_methods/{payment_method_id}?fetch_raw_detail=true")


def assert_reveals(client: VaultClient, cards: dict[str, str]) -> None:
    for payment_method_id, number in cards.items():
        response = reveal(client, payment_method_id)
        assert response.status_code == 200, response.content
        assert response.json()["raw_payment_method_data"]["card"]["card_number"] == number


def sealed_values() -> dict[str, str]:
    return dict(PaymentMethod.objects.values_list("id", "sealed_card"))


def rotate(*args: str) -> str:
    out = StringIO()
    call_command("rotate_keys", "--no-progress", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def readiness() -> tuple[int, dict]:
    for probe in health.PROBES:
        probe.forget()
    response = Client().get("/health/ready")
    return response.status_code, response.json()


# --- the hierarchy ----------------------------------------------------------------------------------


def test_a_merchant_key_is_made_on_the_first_card_and_stored_only_wrapped(key_provider, revealer, tenant, settings):
    cards = vault_cards(revealer, 2)
    [row] = MerchantKey.objects.filter(merchant=tenant.merchant)
    assert (row.version, row.state, row.root_provider) == (1, "active", key_provider)
    expected_root = {"local": settings.VAULT_ACTIVE_KEK, "pkcs11": ROOT_LABEL}.get(key_provider)
    if expected_root:
        assert row.root_version == expected_root
    else:
        assert row.root_version.startswith("arn:aws:kms:eu-west-1:")
    key = merchant_keys.merchant_key(tenant.merchant.id, 1)
    blob = base64.b64decode(row.wrapped_key)
    assert len(key) == 32 and key not in blob
    for payment_method in PaymentMethod.objects.filter(pk__in=cards):
        assert (payment_method.merchant_key_version, payment_method.kek_version) == (1, "")
        assert payment_method.sealed_card.startswith("v2.1.")
    # The wrapped key opens for its own merchant and version only.
    provider = root_provider(key_provider)
    context = merchant_keys.wrap_context(tenant.merchant.id, 1)
    assert provider.unwrap(row.root_version, blob, context) == key
    for other in (merchant_keys.wrap_context("mer_another", 1), merchant_keys.wrap_context(tenant.merchant.id, 2)):
        with pytest.raises(DecryptionFailed):
            provider.unwrap(row.root_version, blob, other)
    assert_reveals(revealer, cards)


def test_a_card_copied_to_another_merchant_does_not_open(key_provider, revealer, other_revealer):
    mine = next(iter(vault_cards(revealer, 1)))
    theirs = next(iter(vault_cards(other_revealer, 1, start=50)))
    PaymentMethod.objects.filter(pk=theirs).update(sealed_card=PaymentMethod.objects.get(pk=mine).sealed_card)
    assert_error(reveal(other_revealer, theirs), 503, "HE_00")


def test_root_rotation_rewraps_one_row_per_merchant_and_leaves_the_cards_alone(
    key_provider, new_root_key, revealer, other_revealer, settings
):
    cards = vault_cards(revealer, 20)
    other_cards = vault_cards(other_revealer, 5, start=100)
    before = sealed_values()
    root = new_root_key()

    output = rotate("--root")

    assert f"re-wrapped 2 merchant key(s) under root key {root}" in output
    assert sealed_values() == before
    provider = root_provider()
    assert set(MerchantKey.objects.values_list("root_provider", "root_version")) == {
        (provider.name, provider.active_version())
    }
    [event] = AuditEvent.objects.filter(action="keys.root_rewrap")
    assert event.object_id == provider.name
    assert event.details == {"count": 2, "root_key": f"{provider.name}:{provider.active_version()}"}
    merchant_keys.cache.forget()
    if key_provider == "local":  # the old root key can go
        settings.VAULT_KEYRING = {settings.VAULT_ACTIVE_KEK: settings.VAULT_KEYRING[settings.VAULT_ACTIVE_KEK]}
    assert_reveals(revealer, cards)
    assert_reveals(other_revealer, other_cards)
    assert "re-wrapped" not in rotate("--root")


def test_rotating_one_merchants_key_rewraps_that_merchants_cards_only(key_provider, revealer, other_revealer, tenant):
    cards = vault_cards(revealer, 12)
    other_cards = vault_cards(other_revealer, 3, start=200)
    others_before = {pm_id: value for pm_id, value in sealed_values().items() if pm_id in other_cards}

    output = rotate("--merchant", tenant.merchant.id, "--new-merchant-key", "--batch-size", "5")

    assert f"merchant {tenant.merchant.id}: key version 2 is now active" in output
    assert "re-wrapped 12 record(s) under their merchant's active key" in output
    assert set(PaymentMethod.objects.filter(pk__in=cards).values_list("merchant_key_version", flat=True)) == {2}
    assert {pm_id: value for pm_id, value in sealed_values().items() if pm_id in other_cards} == others_before
    states = dict(MerchantKey.objects.filter(merchant=tenant.merchant).values_list("version", "state"))
    assert states == {1: "retired", 2: "active"}
    event = AuditEvent.objects.get(action="keys.merchant_rotate")
    assert (event.merchant_id, event.object_id, event.details["retired"]) == (tenant.merchant.id, "2", 1)
    merchant_keys.cache.forget()
    assert_reveals(revealer, cards)
    assert_reveals(other_revealer, other_cards)


def test_rotate_keys_refuses_an_unknown_merchant_and_a_new_key_without_one(db):
    with pytest.raises(Exception, match="no merchant"):
        rotate("--merchant", "mer_nobody", "--new-merchant-key")
    with pytest.raises(Exception, match="--new-merchant-key needs --merchant"):
        rotate("--new-merchant-key")


@pytest.mark.parametrize("target", ["pkcs11", "aws-kms"])
def test_an_installation_moves_from_the_keyring_to_an_hsm_or_kms_without_downtime(
    target, request, settings, revealer, other_revealer, other_tenant
):
    cards = vault_cards(revealer, 10)
    # Every instance restarted with the new provider, the keyring still configured beside it.
    use_key_provider(settings, target, request)
    merchant_keys.cache.forget()
    assert_reveals(revealer, cards)  # merchant keys wrapped by the keyring still open
    other_cards = vault_cards(other_revealer, 3, start=300)  # a new merchant's key goes to the new provider
    assert MerchantKey.objects.get(merchant=other_tenant.merchant).root_provider == target

    assert "re-wrapped 1 merchant key(s)" in rotate("--root")

    assert set(MerchantKey.objects.values_list("root_provider", flat=True)) == {target}
    # The keyring is no longer needed: remove it, restart, and every card still opens.
    settings.VAULT_KEYRING, settings.VAULT_ACTIVE_KEK = {}, ""
    forget_providers()
    merchant_keys.cache.forget()
    assert_reveals(revealer, cards)
    assert_reveals(other_revealer, other_cards)
    status, body = readiness()
    assert status == 200 and body["checks"]["key_provider"] is True


# --- a provider that cannot be reached ----------------------------------------------------------------


@pytest.fixture
def own_kms(settings):
    """A KMS server of this test's own, which the test may stop."""
    from tests.helpers.key_providers import FAKE_AWS_CREDENTIALS

    saved = {name: os.environ.get(name) for name in FAKE_AWS_CREDENTIALS}
    os.environ.update(FAKE_AWS_CREDENTIALS)
    server = MotoServer()
    settings.VAULT_KEY_PROVIDER = "aws-kms"
    for setting, value in server.settings(server.create_key("alias/vault-root-own")).items():
        setattr(settings, setting, value)
    forget_providers()
    yield server
    server.stop()
    forget_providers()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def test_while_kms_is_down_cached_merchant_keys_serve_until_they_expire(
    own_kms, settings, revealer, other_revealer, other_tenant
):
    settings.VAULT_MERCHANT_KEY_CACHE_SECONDS = 2
    mine = vault_cards(revealer, 1)
    theirs = vault_cards(other_revealer, 1, start=400)
    # A key is cached once its creating transaction commits (the test's never does), or when used.
    merchant_keys.cache.forget()
    assert_reveals(revealer, mine)
    own_kms.stop()
    cached_until = time.monotonic() + 2

    assert_reveals(revealer, mine)  # served from the cache
    customer = create_customer(revealer)["id"]
    assert revealer.post("/payment_methods", card_body(customer, card_number(500))).status_code == 200
    for response in (
        reveal(other_revealer, next(iter(theirs))),
        other_revealer.post("/payment_methods", card_body(create_customer(other_revealer)["id"], card_number(501))),
    ):
        body = assert_error(response, 503, "HE_00")
        assert card_number(501) not in str(body) and next(iter(theirs.values())) not in str(body)
    failure = AuditEvent.objects.get(action="payment_method.reveal", object_id=next(iter(theirs)), outcome="failure")
    assert failure.details == {"reason": "key provider unavailable", "key": "merchant key 1"}
    status, body = readiness()
    assert status == 503 and body["checks"]["key_provider"] is False

    time.sleep(max(0.0, cached_until - time.monotonic()) + 0.2)
    assert_error(reveal(revealer, next(iter(mine))), 503, "HE_00")


def test_with_the_cache_off_every_use_asks_the_provider(own_kms, settings, revealer):
    settings.VAULT_MERCHANT_KEY_CACHE_SECONDS = 0
    mine = vault_cards(revealer, 1)
    assert_reveals(revealer, mine)
    own_kms.stop()
    assert_error(reveal(revealer, next(iter(mine))), 503, "HE_00")


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param({"VAULT_PKCS11_TOKEN_LABEL": "no-such-token"}, id="token-absent"),
        pytest.param({"VAULT_PKCS11_TOKEN_LABEL": SPARE_TOKEN_LABEL, "VAULT_PKCS11_PIN": "000000"}, id="wrong-pin"),
        pytest.param({"VAULT_PKCS11_KEY_LABEL": "no-such-key"}, id="root-key-absent"),
    ],
)
def test_an_hsm_that_cannot_be_used_answers_503_and_readiness_false(softhsm, settings, request, api, broken):
    use_key_provider(settings, "pkcs11", request)
    for setting, value in broken.items():
        setattr(settings, setting, value)
    forget_providers()
    customer = create_customer(api)["id"]
    response = api.post("/payment_methods", card_body(customer, card_number(600)))
    body = assert_error(response, 503, "HE_00")
    assert card_number(600) not in str(body)
    assert not PaymentMethod.objects.exists()
    status, ready = readiness()
    assert status == 503 and ready["checks"]["key_provider"] is False


# --- the cache ----------------------------------------------------------------------------------------


def test_the_cache_is_bounded_and_forgets_the_oldest(settings, monkeypatch):
    settings.VAULT_MERCHANT_KEY_CACHE_SECONDS = 60
    monkeypatch.setattr(merchant_keys, "CACHE_ENTRIES", 3)
    cache = merchant_keys._KeyCache()
    for index in range(5):
        cache.put(f"mer_{index}", 1, bytes([index]) * 32, active=True)
    assert [cache.key(f"mer_{index}", 1) is not None for index in range(5)] == [False, False, True, True, True]
    assert cache.active("mer_0") is None and cache.active("mer_4") == 1
