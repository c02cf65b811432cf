"""Key rotation (tokens/rotation.py, `manage.py rotate_keys`) over payment methods in the test database.

SECURITY requirement 7: records vaulted under merchant key 1 stay readable while key 2 becomes active,
rotation moves every data key to key 2 in resumable batches, and afterwards key 1 may be retired.
A root rotation (a new KEK in the keyring) re-wraps merchant keys only; values sealed before merchant
keys existed are moved under them. The same, per key provider, is in test_key_custody.py.
"""

import hashlib
import os
import signal
from collections import Counter
from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command

from api.payment_methods.serializers import PaymentMethodCreateSerializer
from audit.models import AuditEvent
from customers.models import Customer
from merchants import scopes
from tests.helpers.api import VaultClient
from tests.helpers.customers import create_customer
from tests.helpers.legacy_values import legacy_seal
from tests.helpers.tenants import TEST_ACTOR, issue_key
from tokens import crypto, merchant_keys, rotation, services
from tokens.custody import root_provider
from tokens.management.commands import rotate_keys
from tokens.models import MerchantKey, PaymentMethod

# Every test here runs once per key provider (the keyring, SoftHSM2, moto's KMS server).
pytestmark = pytest.mark.usefixtures("key_provider")

KEK_1 = hashlib.sha256(b"rotation-kek-1").digest()
KEK_2 = hashlib.sha256(b"rotation-kek-2").digest()
FINGERPRINT_KEY = hashlib.sha256(b"rotation-fingerprint-1").digest()


def card_number(serial: int) -> str:
    """A distinct Luhn-valid Visa number per serial: '4', 14 digits of serial, check digit."""
    partial = f"4{serial:014d}"
    for check in "0123456789":
        digits = [int(char) for char in reversed(partial + check)]
        total = sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits))
        if total % 10 == 0:
            return partial + check
    raise AssertionError("unreachable")


def body(customer_id: str, number: str) -> dict:
    return {
        "customer_id": customer_id,
        "payment_method_type": "card",
        "payment_method_subtype": "credit",
        "payment_method_data": {
            "card": {
                "card_number": number,
                "card_exp_month": "12",
                "card_exp_year": "2035",
                "card_holder_name": "A B",
            }
        },
        "storage_type": "persistent",
    }


@pytest.fixture(autouse=True)
def kek_1_only(settings):
    settings.VAULT_KEYRING = {"1": KEK_1}
    settings.VAULT_ACTIVE_KEK = "1"
    settings.VAULT_FINGERPRINT_KEYS = {"1": FINGERPRINT_KEY}


def activate_kek_2(settings, *, keep_kek_1: bool = True) -> None:
    """A new root key in the keyring (the `local` provider)."""
    settings.VAULT_KEYRING = {"1": KEK_1, "2": KEK_2} if keep_kek_1 else {"2": KEK_2}
    settings.VAULT_ACTIVE_KEK = "2"


def activate_merchant_key_2(tenant) -> None:
    assert rotation.rotate_merchant_key(actor=TEST_ACTOR, merchant_id=tenant.merchant.id) == 2


@pytest.fixture
def vault(api, tenant):
    """Vault cards for one customer of merchant A: the first few through the API, the rest via the service."""
    customer_id = create_customer(api)["id"]

    def vault_cards(serials: range, *, through_api: int = 0) -> dict[str, str]:
        stored: dict[str, str] = {}
        for count, serial in enumerate(serials):
            number = card_number(serial)
            if count < through_api:
                response = api.post("/payment_methods", body(customer_id, number))
                assert response.status_code == 200, response.content
                payment_method_id = response.json()["id"]
            else:
                serializer = PaymentMethodCreateSerializer(data=body(customer_id, number))
                serializer.is_valid(raise_exception=True)
                payment_method_id = services.payment_method_create(
                    actor=TEST_ACTOR, merchant=tenant.merchant, profile=tenant.profile, data=serializer.validated_data
                ).id
            stored[payment_method_id] = number
        assert len(stored) == len(serials)
        return stored

    return vault_cards


@pytest.fixture
def reveal_api(tenant) -> VaultClient:
    return VaultClient(issue_key(tenant, key_scopes=scopes.ALL_SCOPES), tenant.profile.id)


def versions() -> Counter:
    """Records by the merchant key version that wraps their data key ("" once redacted)."""
    return Counter(str(v or "") for v in PaymentMethod.objects.values_list("merchant_key_version", flat=True))


def sealed_values() -> dict[str, str]:
    return dict(PaymentMethod.objects.values_list("id", "sealed_card"))


def assert_all_decrypt(expected: dict[str, str]) -> None:
    """Every row opens to its card, and its merchant_key_version column names the key inside its sealed value."""
    rows = PaymentMethod.objects.values_list("id", "merchant_id", "sealed_card", "merchant_key_version")
    opened = {}
    for payment_method_id, merchant_id, sealed, key_version in rows:
        assert sealed.split(".")[:2] == ["v2", str(key_version)]
        opened[payment_method_id] = crypto.open_sealed(sealed, merchant_id=merchant_id, record_id=payment_method_id)
    assert {pm_id: secret.number for pm_id, secret in opened.items()} == expected


def assert_reveals(client: VaultClient, expected: dict[str, str], sample: list[str]) -> None:
    for payment_method_id in sample:
        response = client.get(f"/payment_methods/{payment_method_id}?fetch_raw_detail=true")
        assert response.status_code == 200, response.content
        assert response.json()["raw_payment_method_data"]["card"]["card_number"] == expected[payment_method_id]


def run(*args: str, max_batches: int = 50) -> str:
    """Run rotate_keys; fail instead of hanging if its batches stop making progress."""
    batches = []

    def bounded_batch(**kwargs) -> int:
        batches.append(kwargs)
        if len(batches) > max_batches:
            pytest.fail(f"rotate_keys ran more than {max_batches} batches: it is not making progress")
        return rotation.rewrap_batch(**kwargs)

    out = StringIO()
    with mock.patch.object(rotate_keys, "rewrap_batch", bounded_batch):
        call_command("rotate_keys", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def rewrap_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="keys.rewrap").order_by("id"))


def payload(sealed: str) -> str:
    return sealed.split(".")[3]


def test_rotation_rewraps_1000_records_under_merchant_key_2_and_every_card_stays_readable(
    settings, vault, reveal_api, tenant, new_root_key
):
    old = vault(range(1000), through_api=5)
    assert versions() == {"1": 1000}

    activate_merchant_key_2(tenant)
    new = vault(range(1000, 1100), through_api=5)
    cards = old | new
    assert {PaymentMethod.objects.get(pk=pm_id).merchant_key_version for pm_id in new} == {2}
    assert versions() == {"1": 1000, "2": 100}
    assert_all_decrypt(cards)
    sample = [*list(old)[::100], *list(new)[::20]]
    assert_reveals(reveal_api, cards, sample)
    before = sealed_values()
    assert "1000 card(s) under a retired merchant key" in run("--status")

    output = run("--no-progress")

    assert "re-wrapped 1000 record(s) under their merchant's active key" in output
    assert "under a retired merchant key" not in output  # the run ends with the status
    assert versions() == {"2": 1100}
    assert_all_decrypt(cards)
    after = sealed_values()
    # Only the wrapped data keys changed: card ciphertexts are as they were, records under KEK 2 untouched.
    assert {pm_id: payload(value) for pm_id, value in after.items()} == {
        pm_id: payload(value) for pm_id, value in before.items()
    }
    assert all(after[pm_id] != before[pm_id] for pm_id in old)
    assert all(after[pm_id] == before[pm_id] for pm_id in new)

    events = rewrap_events()
    assert [event.details["count"] for event in events] == [500, 500]
    assert {(event.object_type, event.actor_kind) for event in events} == {("payment_methods", "operator")}

    # A new root key: only the merchant keys are re-wrapped, one row per version; the cards are not touched.
    root = new_root_key()
    output = run("--no-progress")
    assert f"re-wrapped 2 merchant key(s) under root key {root}" in output  # versions 1 (retired) and 2
    assert "every record is already under the newest keys" in output
    assert sealed_values() == after
    assert {f"{key.root_provider}:{key.root_version}" for key in MerchantKey.objects.all()} == {
        root if not root.startswith("aws-kms:") else f"aws-kms:{root_provider().active_version()}"
    }
    # Retire the old root key (the keyring's): every record still opens, in the database and through
    # the reveal API.
    if settings.VAULT_KEY_PROVIDER == "local":
        settings.VAULT_KEYRING = {settings.VAULT_ACTIVE_KEK: settings.VAULT_KEYRING[settings.VAULT_ACTIVE_KEK]}
    merchant_keys.cache.forget()
    assert_all_decrypt(cards)
    assert_reveals(reveal_api, cards, sample)
    assert "MISSING" not in run("--status")
    assert "every record is already under the newest keys" in run("--no-progress")
    assert len(rewrap_events()) == 2


def test_an_interrupted_rotation_is_consistent_and_a_second_run_finishes(settings, vault, tenant):
    cards = vault(range(250))
    activate_merchant_key_2(tenant)

    assert rotation.rewrap_batch(actor=TEST_ACTOR, batch_size=100) == 100

    assert versions() == {"1": 150, "2": 100}
    assert rotation.records_to_rewrap() == 150
    assert_all_decrypt(cards)
    [event] = rewrap_events()
    assert event.details["count"] == 100
    assert "150 card(s) under a retired merchant key" in run("--status")

    output = run("--no-progress", "--batch-size", "60")

    assert "re-wrapped 150 record(s) under their merchant's active key" in output
    assert versions() == {"2": 250}
    assert_all_decrypt(cards)
    assert [event.details["count"] for event in rewrap_events()] == [100, 60, 60, 30]


@pytest.mark.parametrize("crash", ["while-rewrapping", "while-auditing"])
def test_a_batch_that_fails_halfway_changes_nothing(settings, vault, monkeypatch, crash, tenant):
    cards = vault(range(120))
    activate_merchant_key_2(tenant)
    before = sealed_values()
    calls = []

    def killed(real):
        def wrapper(*args, **kwargs):
            calls.append(1)
            if crash == "while-auditing" or len(calls) == 50:
                raise RuntimeError("the process was killed")
            return real(*args, **kwargs)

        return wrapper

    if crash == "while-rewrapping":
        monkeypatch.setattr(crypto, "rewrap", killed(crypto.rewrap))
    else:  # after the rows were updated, before the batch's audit event is written
        monkeypatch.setattr(rotation, "audit_record", killed(rotation.audit_record))
    with pytest.raises(RuntimeError):
        rotation.rewrap_batch(actor=TEST_ACTOR, batch_size=100)
    monkeypatch.undo()

    assert len(calls) == (50 if crash == "while-rewrapping" else 1)
    assert sealed_values() == before
    assert versions() == {"1": 120}
    assert rewrap_events() == []
    assert_all_decrypt(cards)

    assert "re-wrapped 120 record(s)" in run("--no-progress")
    assert versions() == {"2": 120}
    assert_all_decrypt(cards)


def legacy_records(cards: dict[str, str], *, version: str = "1", kek: bytes = KEK_1) -> None:
    """Store *cards* as an earlier version of the vault did: sealed under a legacy KEK (scheme v1)."""
    for row in PaymentMethod.objects.filter(pk__in=cards):
        value = legacy_seal(
            crypto.CardSecret(cards[row.id]),
            kek_version=version,
            kek=kek,
            merchant_id=row.merchant_id,
            record_id=row.id,
        )
        PaymentMethod.objects.filter(pk=row.id).update(
            sealed_card=value, kek_version=version, merchant_key_version=None
        )


def test_values_sealed_before_merchant_keys_open_and_rotation_moves_them_under_the_merchant_key(
    settings, vault, reveal_api
):
    cards = vault(range(30), through_api=2)
    legacy_records(cards)
    merchant_keys.cache.forget()
    assert rotation.kek_versions_in_use() == {"1": 30}
    assert_reveals(reveal_api, cards, list(cards)[:3])
    assert "keyring key 1: 30 legacy record(s) sealed before merchant keys (active)" in run("--status")

    output = run("--no-progress", "--batch-size", "7")

    assert "re-wrapped 30 record(s) under their merchant's active key" in output
    assert versions() == {"1": 30} and rotation.kek_versions_in_use() == {}
    assert_all_decrypt(cards)
    assert "every record is already under the newest keys" in run("--no-progress")


def test_status_reports_a_legacy_kek_missing_from_the_keyring(settings, vault):
    cards = vault(range(30))
    legacy_records(cards, version="3", kek=KEK_2)
    before = sealed_values()

    status = run("--status")
    assert "keyring key 3: 30 legacy record(s) sealed before merchant keys (MISSING FROM VAULT_KEYRING" in status

    # Rotation cannot unwrap those data keys: it stops and changes nothing.
    with pytest.raises((crypto.DecryptionFailed, CommandError)):
        run("--no-progress")
    assert sealed_values() == before
    assert rewrap_events() == []

    # Putting KEK 3 back lets the rotation finish.
    settings.VAULT_KEYRING = {"1": KEK_1, "3": KEK_2}
    assert "re-wrapped 30 record(s)" in run("--no-progress")
    assert_all_decrypt(cards)


def test_redacted_records_are_not_counted_or_rewrapped(settings, vault, api, tenant):
    cards = vault(range(3), through_api=3)
    deleted = next(iter(cards))
    assert api.delete(f"/payment_methods/{deleted}").status_code == 200
    activate_merchant_key_2(tenant)

    assert rotation.records_to_rewrap() == 2
    assert "re-wrapped 2 record(s)" in run("--no-progress")
    assert PaymentMethod.objects.get(pk=deleted).sealed_card == ""
    assert versions() == {"": 1, "2": 2}


def test_one_unreadable_record_does_not_stall_the_rotation(settings, vault, tenant):
    cards = vault(range(40))
    damaged = sorted(cards)[5]
    # Damage the wrapped data key of the first batch's sixth record: nothing can unwrap it any more.
    scheme, version, wrapped, ciphertext = PaymentMethod.objects.get(pk=damaged).sealed_card.split(".")
    wrapped = ("B" if wrapped[0] == "A" else "A") + wrapped[1:]
    PaymentMethod.objects.filter(pk=damaged).update(sealed_card=".".join([scheme, version, wrapped, ciphertext]))
    activate_merchant_key_2(tenant)

    with pytest.raises(CommandError, match=damaged):
        run("--no-progress", "--batch-size", "10")
    assert versions() == {"2": 39, "1": 1}
    for row in PaymentMethod.objects.exclude(pk=damaged):
        secret = crypto.open_sealed(row.sealed_card, merchant_id=row.merchant_id, record_id=row.id)
        assert secret.number == cards[row.id] and row.merchant_key_version == 2


FINGERPRINT_KEY_2 = hashlib.sha256(b"rotation-fingerprint-2").digest()


def test_duplicates_made_while_the_old_fingerprint_key_was_missing_are_resolved_by_the_rotation(
    settings, vault, api, tenant
):
    # Cards vaulted under fingerprint key 1; then key 1 is dropped from the configuration before any
    # rotation, so vaulting the same cards again finds no match and creates duplicates under key 2.
    originals = vault(range(6))
    customer_id = PaymentMethod.objects.first().customer_id
    settings.VAULT_FINGERPRINT_KEYS = {"2": FINGERPRINT_KEY_2}
    duplicates = {}
    for number in list(originals.values())[:4]:
        response = api.post("/payment_methods", body(customer_id, number))
        assert response.status_code == 200 and response.json()["id"] not in originals
        duplicates[response.json()["id"]] = number
    newest_duplicate = max(duplicates)
    Customer.objects.filter(pk=customer_id).update(default_payment_method_id=newest_duplicate)
    settings.VAULT_FINGERPRINT_KEYS = {"1": FINGERPRINT_KEY, "2": FINGERPRINT_KEY_2}

    output = run("--no-progress", "--batch-size", "4")

    assert "recomputed the fingerprints of 6 record(s) with fingerprint key 2" in output
    assert "deleted 4 newer duplicate payment method(s)" in output and "re-wrapped" not in output
    live = PaymentMethod.objects.filter(status="active")
    assert set(live.values_list("id", flat=True)) == set(originals)
    assert all(fingerprint.startswith("2$") for fingerprint in live.values_list("card_fingerprint", flat=True))
    for deleted in PaymentMethod.objects.filter(pk__in=duplicates):
        assert deleted.status == "redacted" and deleted.sealed_card == "" and deleted.card_fingerprint is None
    reasons = AuditEvent.objects.filter(action="payment_method.delete", object_id__in=duplicates)
    assert {event.details["reason"] for event in reasons} == {"duplicate found by fingerprint rotation"}
    # The customer's default followed the card to the payment method that was kept.
    kept = Customer.objects.get(pk=customer_id).default_payment_method_id
    assert kept in originals and originals[kept] == duplicates[newest_duplicate]
    assert "every record is already under the newest keys" in run("--no-progress")


def test_a_fingerprint_only_run_says_so_and_changes_no_kek(settings, vault):
    vault(range(5))
    settings.VAULT_FINGERPRINT_KEYS = {"1": FINGERPRINT_KEY, "2": FINGERPRINT_KEY_2}
    output = run("--no-progress")
    assert "recomputed the fingerprints of 5 record(s) with fingerprint key 2" in output
    assert "re-wrapped" not in output and versions() == {"1": 5}


def test_a_signal_stops_the_rotation_after_the_batch_in_hand_and_a_second_run_resumes(settings, vault, tenant):
    cards = vault(range(50))
    activate_merchant_key_2(tenant)
    batches = []

    def batch_then_interrupt(**kwargs) -> int:
        done = rotation.rewrap_batch(**kwargs)
        batches.append(done)
        if len(batches) == 2:
            os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C would, in the middle of the run
        return done

    out = StringIO()
    with mock.patch.object(rotate_keys, "rewrap_batch", batch_then_interrupt), pytest.raises(CommandError) as stopped:
        call_command("rotate_keys", "--no-progress", "--batch-size", "10", stdout=out, stderr=StringIO())
    assert stopped.value.returncode == 130
    assert "interrupted after 20 of 50 record(s); run again to resume" in str(stopped.value)
    assert versions() == {"2": 20, "1": 30}
    # The handler is gone again: SIGINT is back to raising KeyboardInterrupt.
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert "re-wrapped 30 record(s)" in run("--no-progress", "--batch-size", "10")
    assert_all_decrypt(cards)
