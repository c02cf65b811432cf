"""Crypto-shredding (tokens/shredding.py, `manage.py shred_merchant`, the console page): two superusers,
the merchant's keys destroyed, every card of that merchant unreadable (even from a copy of the
database taken before), the other merchants untouched, and the audit row naming who approved.
Run once per key provider."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEvent
from merchants import scopes
from merchants.models import ApiKey
from tests.helpers.api import VaultClient, assert_error
from tests.helpers.console import ADMIN, current_code, make_console_user, verified_client
from tests.helpers.customers import create_customer
from tests.helpers.payment_methods import card_number, create_payment_method
from tests.helpers.tenants import TEST_ACTOR, issue_key
from tokens import crypto, merchant_keys
from tokens.models import MerchantKey, MerchantShredRequest, PaymentMethod
from tokens.shredding import ShredRefused, shred_approve, shred_cancel, shred_request

pytestmark = pytest.mark.usefixtures("key_provider")


def revealer_for(tenant) -> VaultClient:
    return VaultClient(issue_key(tenant, key_scopes=scopes.ALL_SCOPES), tenant.profile.id)


def vault_cards(client: VaultClient, count: int, start: int = 0) -> dict[str, str]:
    customer_id = create_customer(client)["id"]
    return {
        create_payment_method(client, customer_id, card_number(start + i))["id"]: card_number(start + i)
        for i in range(count)
    }


@pytest.fixture
def superusers(db):
    return make_console_user("alice", None, superuser=True), make_console_user("bob", None, superuser=True)


@pytest.fixture
def two_merchants(tenant, other_tenant):
    mine, theirs = revealer_for(tenant), revealer_for(other_tenant)
    return mine, vault_cards(mine, 6), theirs, vault_cards(theirs, 4, start=100)


def assert_shredded(tenant, cards: dict[str, str], copies: dict[str, str]) -> None:
    """Every card of *tenant* answers as deleted, and the values copied before cannot be opened."""
    merchant_keys.cache.forget()  # as in every other process, once its cache entry expires
    fresh = revealer_for(tenant)  # the old keys were revoked; an administrator issues a new one
    for payment_method_id in cards:
        assert_error(fresh.get(f"/payment_methods/{payment_method_id}?fetch_raw_detail=true"), 404, "HE_02")
        row = PaymentMethod.objects.get(pk=payment_method_id)
        assert (row.status, row.sealed_card, row.card_fingerprint) == ("redacted", "", None)
        with pytest.raises(crypto.DecryptionFailed):
            crypto.open_sealed(copies[payment_method_id], merchant_id=tenant.merchant.id, record_id=payment_method_id)
    assert set(MerchantKey.objects.filter(merchant=tenant.merchant).values_list("state", "wrapped_key")) == {
        ("destroyed", "")
    }


def assert_still_readable(client: VaultClient, cards: dict[str, str]) -> None:
    for payment_method_id, number in cards.items():
        response = client.get(f"/payment_methods/{payment_method_id}?fetch_raw_detail=true")
        assert response.status_code == 200
        assert response.json()["raw_payment_method_data"]["card"]["card_number"] == number


def test_a_shred_needs_a_second_superuser_and_then_makes_every_card_unreadable(
    superusers, two_merchants, tenant, other_tenant
):
    alice, bob = superusers
    mine, my_cards, theirs, their_cards = two_merchants
    copies = dict(PaymentMethod.objects.values_list("id", "sealed_card"))  # a copy of the database

    with pytest.raises(ShredRefused, match="typed out"):
        shred_request(
            actor=TEST_ACTOR, user=alice.user, merchant=tenant.merchant, reason="offboarded", confirmation="x"
        )
    request = shred_request(
        actor=TEST_ACTOR,
        user=alice.user,
        merchant=tenant.merchant,
        reason="offboarded",
        confirmation=tenant.merchant.id,
    )
    with pytest.raises(ShredRefused, match="already waiting"):
        shred_request(
            actor=TEST_ACTOR, user=bob.user, merchant=tenant.merchant, reason="again", confirmation=tenant.merchant.id
        )
    with pytest.raises(ShredRefused, match="the requester cannot"):
        shred_approve(actor=TEST_ACTOR, user=alice.user, request=request, confirmation=tenant.merchant.id)
    with pytest.raises(ShredRefused, match="typed out"):
        shred_approve(actor=TEST_ACTOR, user=bob.user, request=request, confirmation=other_tenant.merchant.id)
    assert_still_readable(mine, my_cards)  # nothing happened yet

    result = shred_approve(actor=TEST_ACTOR, user=bob.user, request=request, confirmation=tenant.merchant.id)

    assert (result.key_versions, result.payment_methods) == ([1], 6)
    assert result.api_keys == ApiKey.objects.filter(merchant=tenant.merchant, revoked_at__isnull=False).count() >= 2
    assert_error(mine.get(f"/payment_methods/{next(iter(my_cards))}"), 401, "IR_01")
    assert_shredded(tenant, my_cards, copies)
    assert_still_readable(theirs, their_cards)
    event = AuditEvent.objects.get(action="merchant.shred")
    assert event.merchant_id == tenant.merchant.id
    assert event.details["irreversible"] is True
    assert (event.details["requested_by"], event.details["approved_by"]) == ("alice", "bob")
    assert event.details["payment_methods_redacted"] == 6
    with pytest.raises(ShredRefused, match="no longer pending"):
        shred_approve(actor=TEST_ACTOR, user=bob.user, request=request, confirmation=tenant.merchant.id)


def test_only_superusers_request_or_approve_and_a_request_can_be_cancelled(superusers, tenant, db):
    alice, bob = superusers
    staff = make_console_user("carol")
    with pytest.raises(ShredRefused, match="superuser"):
        shred_request(
            actor=TEST_ACTOR, user=staff.user, merchant=tenant.merchant, reason="r", confirmation=tenant.merchant.id
        )
    request = shred_request(
        actor=TEST_ACTOR, user=alice.user, merchant=tenant.merchant, reason="r", confirmation=tenant.merchant.id
    )
    with pytest.raises(ShredRefused, match="superuser"):
        shred_approve(actor=TEST_ACTOR, user=staff.user, request=request, confirmation=tenant.merchant.id)
    shred_cancel(actor=TEST_ACTOR, user=bob.user, request=request)
    with pytest.raises(ShredRefused, match="no longer pending"):
        shred_approve(actor=TEST_ACTOR, user=bob.user, request=request, confirmation=tenant.merchant.id)
    assert MerchantKey.objects.filter(merchant=tenant.merchant, state="destroyed").count() == 0


def run_shred(*args: str) -> str:
    out = StringIO()
    call_command("shred_merchant", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_the_command_needs_two_superusers_each_with_a_code_from_their_authenticator(superusers, two_merchants, tenant):
    alice, bob = superusers
    mine, my_cards, theirs, their_cards = two_merchants
    copies = dict(PaymentMethod.objects.values_list("id", "sealed_card"))
    merchant = tenant.merchant.id

    make_console_user("erin", None, superuser=True)
    with pytest.raises(CommandError, match="does not match"):
        run_shred(merchant, "--by", "erin", "--code", "000000", "--confirm", merchant, "--reason", "offboarded")
    with pytest.raises(CommandError, match="not an active superuser"):
        run_shred(merchant, "--by", "mallory", "--code", "000000", "--confirm", merchant)
    output = run_shred(merchant, "--by", "alice", "--code", current_code(alice.device), "--confirm", merchant,
                       "--reason", "offboarded")  # fmt: skip
    assert "a second superuser must approve" in output
    TOTPDevice.objects.filter(pk=alice.device.pk).update(last_t=-1)  # a later code, as a minute later
    with pytest.raises(CommandError, match="the requester cannot"):
        run_shred(merchant, "--by", "alice", "--code", current_code(alice.device), "--confirm", merchant)
    assert_still_readable(mine, my_cards)

    output = run_shred(merchant, "--by", "bob", "--code", current_code(bob.device), "--confirm", merchant)

    assert f"shredded {merchant} (requested by alice, approved by bob)" in output
    assert_shredded(tenant, my_cards, copies)
    assert_still_readable(theirs, their_cards)
    event = AuditEvent.objects.get(action="merchant.shred")
    assert (event.actor_kind, event.details["approved_by"]) == ("operator", "bob")


def test_the_console_page_is_for_superusers_and_needs_a_second_one_to_approve(superusers, two_merchants, tenant):
    alice, bob = superusers
    mine, my_cards, theirs, their_cards = two_merchants
    copies = dict(PaymentMethod.objects.values_list("id", "sealed_card"))
    page = f"{ADMIN}merchants/merchant/{tenant.merchant.id}/shred/"
    administrator = verified_client(make_console_user("dave"))
    assert administrator.get(page).status_code == 403
    assert (
        administrator.post(page, {"decision": "request", "confirmation": tenant.merchant.id, "reason": "x"}).status_code
        == 403
    )
    assert (
        "Crypto-shred"
        not in administrator.get(f"{ADMIN}merchants/merchant/{tenant.merchant.id}/change/").content.decode()
    )

    first, second = verified_client(alice), verified_client(bob)
    assert "Crypto-shred" in first.get(f"{ADMIN}merchants/merchant/{tenant.merchant.id}/change/").content.decode()
    assert "Request the shred" in first.get(page).content.decode()
    wrong = first.post(page, {"decision": "request", "confirmation": "nope", "reason": "offboarded"})
    assert wrong.status_code == 200 and "typed out" in wrong.content.decode()
    assert (
        first.post(
            page, {"decision": "request", "confirmation": tenant.merchant.id, "reason": "offboarded"}
        ).status_code
        == 302
    )
    waiting = first.get(page).content.decode()
    assert "Waiting for a second superuser" in waiting and "Approve and shred now" not in waiting
    refused = first.post(page, {"decision": "approve", "confirmation": tenant.merchant.id})
    assert "the requester cannot" in refused.content.decode()
    assert_still_readable(mine, my_cards)

    assert "Approve and shred now" in second.get(page).content.decode()
    done = second.post(page, {"decision": "approve", "confirmation": tenant.merchant.id})

    assert done.status_code == 302
    assert MerchantShredRequest.objects.get().status == "executed"
    assert_shredded(tenant, my_cards, copies)
    assert_still_readable(theirs, their_cards)
    event = AuditEvent.objects.get(action="merchant.shred")
    assert (event.actor_kind, event.actor_id, event.details["requested_by"]) == ("admin", "bob", "alice")
