"""Network tokenization end to end, against the simulator running as its own process on 127.0.0.1."""

import base64
import json
import logging
import socket
import time
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from audit.models import AuditEvent
from core.card_numbers import luhn_valid
from merchants import scopes
from merchants.credential_cache import credential_cache
from tests.helpers.api import VaultClient, assert_error
from tests.helpers.customers import create_customer
from tests.helpers.payment_methods import VISA, card_body, card_number
from tests.helpers.tenants import issue_key, make_tenant
from tests.helpers.token_service import SIM_API_KEY, WEBHOOK_SECRET, SimulatorProcess
from tokens import crypto
from tokens.models import PaymentMethod, TokenLifecycleEvent
from tokens.network.protocol import SIGNATURE_HEADER, sign
from tokens.network.services import network_token_events_purge


@pytest.fixture(scope="module")
def simulator(tmp_path_factory):
    process = SimulatorProcess(tmp_path_factory.mktemp("sim") / "tokens.sqlite3")
    yield process
    process.stop()


@pytest.fixture(autouse=True)
def token_settings(settings, simulator):
    settings.VAULT_NT_URL = simulator.url
    settings.VAULT_NT_API_KEY = SIM_API_KEY
    settings.VAULT_NT_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.VAULT_NT_TIMEOUT = 1.0
    simulator.configure(fail_rate=0, latency_ms=0, malformed=False)
    return settings


@pytest.fixture
def nt(db):
    """A merchant whose profile has network tokenization on, with a plain key and a reveal key."""
    tenant = make_tenant("Tokenizer")
    tenant.profile.network_tokenization_enabled = True
    tenant.profile.save()
    api = VaultClient(tenant.key, tenant.profile.id)
    revealer = VaultClient(issue_key(tenant, key_scopes=list(scopes.ALL_SCOPES)), tenant.profile.id)
    customer = create_customer(api)
    return tenant, api, revealer, customer


def tokenized(api, customer_id, number=VISA, enable="Enable"):
    body = card_body(customer_id, number)
    body["network_tokenization"] = {"enable": enable}
    response = api.post("/v2/payment-methods", body)
    assert response.status_code == 200, response.content
    return response.json()


def get_token(client, pm_id, spelling="short"):
    if spelling == "short":
        return client.post(f"/payment_methods/{pm_id}/get_token", {"token_type": "network_token"})
    return client.request("GET", f"/v2/payment-methods/{pm_id}/get-token", {"token_type": "network_token"})


def test_a_token_is_provisioned_on_create(nt, simulator):
    _, api, revealer, customer = nt
    pm = tokenized(api, customer["id"])
    token = pm["network_token"]["payment_method_data"]
    assert token["card_network"] == "Visa" and token["saved_to_locker"] is True
    assert token["card_isin"] == "4895" and token["par"].startswith("V")
    assert token["network_token_expiry_month"] and token["network_token_expiry_year"]
    row = PaymentMethod.objects.get(pk=pm["id"])
    assert row.network_token_status == "ACTIVE" and row.network_token_ref.startswith("tok_")
    status, remote = simulator.call("GET", f"/v1/tokens/{row.network_token_ref}")
    assert status == 200 and remote["status"] == "ACTIVE" and remote["token_last4"] == token["last4_digits"]
    revealed = revealer.get(f"/payment_methods/{pm['id']}?fetch_raw_detail=true").json()["raw_payment_method_data"]
    token_number = revealed["card_with_n_t"]["network_token_details"]["card_number"]
    assert revealed["card_with_n_t"]["card_details"]["card_number"] == VISA
    assert token_number != VISA and luhn_valid(token_number) and token_number.startswith("489537")


@pytest.mark.parametrize("spelling", ["short", "v2"])
def test_status_is_read_from_the_token_service(nt, spelling):
    _, api, _, customer = nt
    pm = tokenized(api, customer["id"])
    path = (
        f"/payment_methods/{pm['id']}/check_network_token_status"
        if spelling == "short"
        else f"/v2/payment-methods/{pm['id']}/check-network-token-status"
    )
    body = api.get(path).json()
    assert body["type"] == "success_response" and body["status"] == "ACTIVE"
    assert body["card_last_four"] == "4242" and body["payment_method_id"] == pm["id"]
    assert body["token_last_four"] == pm["network_token"]["payment_method_data"]["last4_digits"]
    assert body["customer_id"] == customer["id"]


@pytest.mark.parametrize("spelling", ["short", "v2"])
def test_get_token_gives_the_token_and_a_fresh_cryptogram(nt, spelling):
    _, api, revealer, customer = nt
    pm = tokenized(api, customer["id"])
    first = get_token(revealer, pm["id"], spelling).json()
    second = get_token(revealer, pm["id"], spelling).json()
    details = first["token_details"]
    assert first["payment_method_id"] == pm["id"] and first["token_type"] == "network_token"
    assert details["network_token"] != VISA and luhn_valid(details["network_token"])
    assert details["network_token"] == second["token_details"]["network_token"]
    assert details["cryptogram"] != second["token_details"]["cryptogram"]
    assert details["eci"] == "05"
    events = AuditEvent.objects.filter(action="network_token.get", object_id=pm["id"])
    assert [e.outcome for e in events] == ["success", "success"]


def test_get_token_needs_the_reveal_scope_and_is_audited(nt):
    _, api, _, customer = nt
    pm = tokenized(api, customer["id"])
    response = get_token(api, pm["id"])
    assert_error(response, 403, "IR_22")
    assert AuditEvent.objects.filter(action="network_token.get", outcome="denied").count() == 1


def test_get_token_of_another_merchant_is_404(nt, other_tenant):
    _, api, _, customer = nt
    pm = tokenized(api, customer["id"])
    other = VaultClient(issue_key(other_tenant, key_scopes=list(scopes.ALL_SCOPES)), other_tenant.profile.id)
    assert_error(get_token(other, pm["id"]), 404, "HE_02")
    assert_error(other.get(f"/payment_methods/{pm['id']}/check_network_token_status"), 404, "HE_02")


def test_get_token_refuses_other_types_untokenized_cards_and_disabled_profiles(nt):
    tenant, api, revealer, customer = nt
    pm = tokenized(api, customer["id"])
    plain = tokenized(api, customer["id"], card_number(3), enable="Skip")
    assert plain["network_token"] is None
    response = revealer.post(f"/payment_methods/{pm['id']}/get_token", {"token_type": "single_use_token"})
    assert_error(response, 422, "IR_29")
    assert_error(get_token(revealer, plain["id"]), 404, "IR_37")
    assert_error(revealer.post(f"/payment_methods/{pm['id']}/get_token", {}), 400, "IR_04")
    tenant.profile.network_tokenization_enabled = False
    tenant.profile.save()
    credential_cache.clear()  # profile changes reach a process within VAULT_API_KEY_CACHE_SECONDS
    assert_error(get_token(revealer, pm["id"]), 422, "IR_29")


def test_status_without_a_token_is_ir_07(nt):
    _, api, _, customer = nt
    plain = tokenized(api, customer["id"], enable="Skip")
    assert_error(api.get(f"/payment_methods/{plain['id']}/check_network_token_status"), 400, "IR_07")


def test_nothing_is_provisioned_when_the_profile_has_it_off(api, customer_for_api):
    pm = tokenized(api, customer_for_api["id"])
    assert pm["network_token"] is None
    assert PaymentMethod.objects.get(pk=pm["id"]).network_token_ref is None


@pytest.fixture
def customer_for_api(api):
    return create_customer(api)


def test_every_token_of_one_card_has_the_same_par(nt):
    _, api, _, customer = nt
    other_customer = create_customer(api)
    first = tokenized(api, customer["id"])["network_token"]["payment_method_data"]
    second = tokenized(api, other_customer["id"])["network_token"]["payment_method_data"]
    third = tokenized(api, customer["id"], card_number(11))["network_token"]["payment_method_data"]
    assert first["par"] == second["par"] != third["par"]


def test_deleting_the_payment_method_marks_the_token_and_the_worker_deletes_it(nt, simulator):
    _, api, _, customer = nt
    pm = tokenized(api, customer["id"])
    ref = PaymentMethod.objects.get(pk=pm["id"]).network_token_ref
    api.delete(f"/payment_methods/{pm['id']}")
    # The request did not wait on the token service: the token is only marked.
    assert simulator.call("GET", f"/v1/tokens/{ref}")[1]["status"] == "ACTIVE"
    assert PaymentMethod.objects.get(pk=pm["id"]).network_token_delete_pending
    out = StringIO()
    call_command("run_worker", "--once", stdout=out)
    assert "deleted 1 of 1 network token(s)" in out.getvalue()
    assert simulator.call("GET", f"/v1/tokens/{ref}")[1]["status"] == "DELETED"
    row = PaymentMethod.objects.get(pk=pm["id"])
    assert row.network_token_status == "DELETED" and not row.network_token_delete_pending


def test_a_failed_token_deletion_is_retried_by_the_sweep(nt, simulator, token_settings):
    _, api, _, customer = nt
    pm = tokenized(api, customer["id"])
    ref = PaymentMethod.objects.get(pk=pm["id"]).network_token_ref
    simulator.configure(fail_rate=1.0)
    assert api.delete(f"/payment_methods/{pm['id']}").status_code == 200
    call_command("run_worker", "--once", stdout=StringIO())
    assert PaymentMethod.objects.get(pk=pm["id"]).network_token_delete_pending
    # purge_expired says so with its exit status, for cron and monitors.
    with pytest.raises(CommandError) as unconfirmed:
        call_command("purge_expired", stdout=StringIO())
    assert unconfirmed.value.returncode == 1
    assert "1 network token deletion(s) not confirmed" in str(unconfirmed.value)
    simulator.configure(fail_rate=0)
    assert simulator.call("GET", f"/v1/tokens/{ref}")[1]["status"] == "ACTIVE"
    call_command("purge_expired", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert simulator.call("GET", f"/v1/tokens/{ref}")[1]["status"] == "DELETED"
    assert not PaymentMethod.objects.get(pk=pm["id"]).network_token_delete_pending


def test_deleting_a_customer_marks_its_tokens_for_the_worker(nt, simulator):
    _, api, _, customer = nt
    pm = tokenized(api, customer["id"])
    ref = PaymentMethod.objects.get(pk=pm["id"]).network_token_ref
    api.delete(f"/customers/{customer['id']}")
    assert PaymentMethod.objects.get(pk=pm["id"]).network_token_delete_pending
    call_command("run_worker", "--once", stdout=StringIO())
    assert simulator.call("GET", f"/v1/tokens/{ref}")[1]["status"] == "DELETED"


def test_no_request_waits_on_a_slow_token_service_longer_than_its_timeout(nt, simulator, settings):
    _, api, revealer, customer = nt
    pm = tokenized(api, customer["id"])
    settings.VAULT_NT_TIMEOUT = 0.5
    settings.VAULT_NT_RETRIES = 2
    simulator.configure(latency_ms=1500)
    try:
        for call in (
            lambda: api.get(f"/payment_methods/{pm['id']}/check_network_token_status"),
            lambda: get_token(revealer, pm["id"]),
            lambda: api.delete(f"/payment_methods/{pm['id']}"),
        ):
            started = time.monotonic()
            response = call()
            elapsed = time.monotonic() - started
            assert response.status_code < 500 or response.status_code == 503, response.content
            assert elapsed < 1.2, (response.status_code, elapsed)  # one attempt of 0.5 s, plus the vault's own work
    finally:
        simulator.configure(latency_ms=0)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("mode", ["down", "slow", "malformed", "erroring"])
def test_provisioning_failures_leave_a_card_without_token(nt, simulator, token_settings, mode, caplog):
    _, api, _, customer = nt
    if mode == "down":
        token_settings.VAULT_NT_URL = f"http://127.0.0.1:{closed_port()}"
    elif mode == "slow":
        simulator.configure(latency_ms=3000)
    elif mode == "malformed":
        simulator.configure(malformed=True)
    else:
        simulator.configure(fail_rate=1.0)
    started = time.monotonic()
    pm = tokenized(api, customer["id"])
    elapsed = time.monotonic() - started
    assert pm["network_token"] is None
    assert elapsed < token_settings.VAULT_NT_TIMEOUT + 1.0, elapsed
    row = PaymentMethod.objects.get(pk=pm["id"])
    assert row.network_token_ref is None and row.network_token_status is None
    failure = AuditEvent.objects.get(action="network_token.provision", object_id=pm["id"])
    assert failure.outcome == "failure"
    assert VISA not in caplog.text and "network token not provisioned" in caplog.text


def test_status_when_the_service_is_down_is_a_failure_response(nt, simulator):
    _, api, _, customer = nt
    pm = tokenized(api, customer["id"])
    simulator.configure(fail_rate=1.0)
    body = api.get(f"/payment_methods/{pm['id']}/check_network_token_status").json()
    assert body == {"type": "failure_response", "error_message": "The token service is unavailable"}


def test_get_token_when_the_service_is_down_is_503(nt, simulator):
    _, api, revealer, customer = nt
    pm = tokenized(api, customer["id"])
    simulator.configure(fail_rate=1.0)
    assert_error(get_token(revealer, pm["id"]), 503, "HE_00")


@pytest.mark.parametrize(
    ("card_bin", "eligible"), [("424242", True), ("555555", True), ("378282", True), ("620000", False)]
)
def test_eligibility_by_bin(nt, card_bin, eligible):
    _, api, _, _ = nt
    for path in ("/payment_methods/network_token_eligibility", "/v2/payment-methods/get-network-token-eligibility"):
        response = api.get(f"{path}?card_bin={card_bin}")
        assert response.json() == {"eligible_for_network_tokenization": eligible}


def test_eligibility_refuses_disabled_profiles_and_malformed_bins(nt, api):
    _, nt_api, _, _ = nt
    assert_error(api.get("/payment_methods/network_token_eligibility?card_bin=424242"), 400, "IR_19")
    for query in ("card_bin=42", "card_bin=42424a", "", "card_bin=%D9%A4%D9%A4%D9%A4%D9%A4%D9%A4%D9%A4"):
        assert_error(
            nt_api.get(f"/payment_methods/network_token_eligibility?{query}"), 400, "IR_04" if not query else "IR_06"
        )


def test_token_numbers_and_cryptograms_stay_out_of_logs_and_plain_responses(nt, caplog):
    caplog.set_level(logging.DEBUG)
    _, api, revealer, customer = nt
    pm = tokenized(api, customer["id"])
    details = get_token(revealer, pm["id"]).json()["token_details"]
    plain = [api.get(f"/payment_methods/{pm['id']}"), api.get(f"/customers/{customer['id']}/saved_payment_methods")]
    for response in plain:
        text = response.content.decode()
        assert details["network_token"] not in text and details["cryptogram"] not in text
    assert details["network_token"] not in caplog.text and details["cryptogram"] not in caplog.text
    listed = plain[1].json()["customer_payment_methods"][0]
    assert listed["network_tokenization"] == pm["network_token"]


# --- the webhook -------------------------------------------------------------------------------


def lifecycle_event(token_ref: str, event_id: str, status: str, *, at: int, **fields) -> dict:
    """An event as the token service sends it, *at* seconds after a fixed instant."""
    occurred_at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=at)
    return {
        "event_id": event_id,
        "token_ref": token_ref,
        "status": status,
        "token_exp_month": "01",
        "token_exp_year": "2030",
        "occurred_at": occurred_at.isoformat(),
        **fields,
    }


def push(client, event: dict, secret: str = WEBHOOK_SECRET, timestamp: int | None = None, signed: bool = True):
    import json

    raw = json.dumps(event).encode()
    headers = {SIGNATURE_HEADER: sign(raw, secret, timestamp)} if signed else {}
    return client.client.post("/webhooks/token_service", raw, content_type="application/json", headers=headers)


def test_a_signed_event_updates_the_token(nt):
    _, api, _, customer = nt
    pm = tokenized(api, customer["id"])
    ref = PaymentMethod.objects.get(pk=pm["id"]).network_token_ref
    event = lifecycle_event(ref, "evt_1", "ACTIVE", at=1, token_exp_month="09", token_exp_year="2031")
    assert push(api, event).json() == {"received": True, "outcome": "applied"}
    data = api.get(f"/payment_methods/{pm['id']}").json()["network_token"]["payment_method_data"]
    assert (data["network_token_expiry_month"], data["network_token_expiry_year"]) == ("09", "2031")
    assert push(api, lifecycle_event(ref, "evt_2", "SUSPENDED", at=2)).status_code == 200
    assert PaymentMethod.objects.get(pk=pm["id"]).network_token_status == "SUSPENDED"
    assert AuditEvent.objects.filter(action="network_token.lifecycle", object_id=pm["id"]).count() == 2


@pytest.mark.parametrize("forgery", ["unsigned", "wrong secret", "stale", "tampered"])
def test_unsigned_or_forged_events_change_nothing(nt, forgery):
    _, api, _, customer = nt
    pm = tokenized(api, customer["id"])
    before = PaymentMethod.objects.values().get(pk=pm["id"])
    event = lifecycle_event(before["network_token_ref"], "evt_2", "DELETED", at=1)
    if forgery == "unsigned":
        response = push(api, event, signed=False)
    elif forgery == "wrong secret":
        response = push(api, event, secret="another-secret-0123456789abcdefghijkl")
    elif forgery == "stale":
        response = push(api, event, timestamp=int(time.time()) - 3600)
    else:
        import json

        raw = json.dumps(event).encode()
        header = sign(raw, WEBHOOK_SECRET)
        response = api.client.post(
            "/webhooks/token_service", raw.replace(b"DELETED", b"EXPIRED"), content_type="application/json",
            headers={SIGNATURE_HEADER: header},
        )  # fmt: skip
    assert_error(response, 401, "IR_01")
    assert PaymentMethod.objects.values().get(pk=pm["id"]) == before


@pytest.mark.django_db(transaction=True)
def test_the_simulator_pushes_a_suspension_to_the_live_vault(live_server, settings, tmp_path):
    """The whole loop over HTTP: simulator → signed webhook → the vault served by a real server."""
    process = SimulatorProcess(tmp_path / "tokens.sqlite3", webhook_url=f"{live_server.url}/webhooks/token_service")
    try:
        settings.VAULT_NT_URL = process.url
        tenant = make_tenant("Live")
        tenant.profile.network_tokenization_enabled = True
        tenant.profile.save()
        api = VaultClient(tenant.key, tenant.profile.id)
        pm = tokenized(api, create_customer(api)["id"])
        ref = PaymentMethod.objects.get(pk=pm["id"]).network_token_ref
        status, answer = process.call("POST", f"/_sim/tokens/{ref}/events", {"event": "suspend"})
        assert status == 200 and answer["webhook_status"] == 200
        assert PaymentMethod.objects.get(pk=pm["id"]).network_token_status == "SUSPENDED"
        assert api.get(f"/payment_methods/{pm['id']}/check_network_token_status").json()["status"] == "SUSPENDED"
    finally:
        process.stop()


def test_get_token_of_a_card_that_cannot_be_decrypted_is_503_and_audited(nt, settings, caplog):
    _, api, revealer, customer = nt
    pm = tokenized(api, customer["id"])
    settings.VAULT_KEYRING = {"other": bytes(range(32))}
    settings.VAULT_ACTIVE_KEK = "other"
    assert_error(get_token(revealer, pm["id"]), 503, "HE_00")
    event = AuditEvent.objects.filter(action="network_token.get", object_id=pm["id"]).get()
    assert event.outcome == "failure" and event.details["reason"] == "decryption failed"
    assert "cannot be decrypted" in caplog.text and VISA not in caplog.text


@pytest.fixture
def token_ref(nt):
    _, api, _, customer = nt
    pm = tokenized(api, customer["id"])
    return PaymentMethod.objects.get(pk=pm["id"]).network_token_ref


def token_row(token_ref):
    return PaymentMethod.objects.values("network_token_status", "network_token_exp_year").get(
        network_token_ref=token_ref
    )


def lifecycle_audits(token_ref):
    payment_method = PaymentMethod.objects.get(network_token_ref=token_ref)
    return list(AuditEvent.objects.filter(action="network_token.lifecycle", object_id=payment_method.id).order_by("id"))


def test_a_replayed_event_is_received_and_changes_nothing(nt, token_ref):
    api = nt[1]
    assert push(api, lifecycle_event(token_ref, "evt_a", "SUSPENDED", at=1)).json()["outcome"] == "applied"
    assert push(api, lifecycle_event(token_ref, "evt_b", "ACTIVE", at=2)).json()["outcome"] == "applied"
    replay = push(api, lifecycle_event(token_ref, "evt_a", "SUSPENDED", at=1))
    assert replay.status_code == 200 and replay.json() == {"received": True, "outcome": "replayed"}
    assert token_row(token_ref)["network_token_status"] == "ACTIVE"
    assert len(lifecycle_audits(token_ref)) == 2
    assert TokenLifecycleEvent.objects.count() == 2


def test_an_older_event_arriving_late_is_ignored_and_audited_as_such(nt, token_ref):
    api = nt[1]
    push(api, lifecycle_event(token_ref, "evt_new", "SUSPENDED", at=20))
    late = push(api, lifecycle_event(token_ref, "evt_old", "ACTIVE", at=10))
    assert late.status_code == 200 and late.json()["outcome"] == "ignored"
    assert token_row(token_ref)["network_token_status"] == "SUSPENDED"
    assert lifecycle_audits(token_ref)[-1].details == {
        "status": "ACTIVE",
        "event_id": "evt_old",
        "ignored": "older than the last event applied",
    }
    assert TokenLifecycleEvent.objects.get(pk="evt_old").outcome == "ignored"


def test_a_deleted_token_stays_deleted(nt, token_ref):
    api = nt[1]
    push(api, lifecycle_event(token_ref, "evt_del", "DELETED", at=1))
    for index, status in enumerate(["ACTIVE", "SUSPENDED", "EXPIRED"]):
        answer = push(api, lifecycle_event(token_ref, f"evt_{index}", status, at=100 + index)).json()
        assert answer["outcome"] == "ignored"
    assert token_row(token_ref)["network_token_status"] == "DELETED"


@pytest.mark.parametrize(
    "change",
    [
        {"token_exp_month": "13"},
        {"token_exp_year": "2020"},
        {"token_exp_year": "3"},
        {"occurred_at": None},
        {"occurred_at": "2026-01-01T00:00:00"},  # no offset
        {"occurred_at": "yesterday"},
        {"occurred_at": "2" * 5000},
        {"event_id": ""},
        {"event_id": "e" * 65},
        {"event_id": "evt 1"},
        {"event_id": 7},
        {"token_ref": None},
        {"status": "GONE"},
    ],
)
def test_a_malformed_event_is_400_and_changes_nothing(nt, token_ref, change):
    before = token_row(token_ref)
    response = push(nt[1], {**lifecycle_event(token_ref, "evt_bad", "ACTIVE", at=1), **change})
    assert_error(response, 400, "IR_06")
    assert token_row(token_ref) == before and TokenLifecycleEvent.objects.count() == 0


def test_an_expiry_event_may_carry_a_past_date_but_a_reissue_may_not(nt, token_ref):
    api = nt[1]
    expired = lifecycle_event(token_ref, "evt_exp", "EXPIRED", at=1, token_exp_month="01", token_exp_year="2020")
    assert push(api, expired).json()["outcome"] == "applied"
    reissue = lifecycle_event(token_ref, "evt_re", "ACTIVE", at=2, token_exp_month="01", token_exp_year="2021")
    assert_error(push(api, reissue), 400, "IR_06")


@pytest.mark.parametrize(
    "header",
    [
        "t=" + "1" * 400 + ",v1=" + "a" * 64,
        "t=" + "1" * 5000 + ",v1=" + "a" * 64,
        "t=17000000000,v1=" + "a" * 64,  # 11 digits
        "t=1700000000,v1=" + "é" * 64,
        "t=1700000000,v1=" + "A" * 64,
        "t=1700000000,v1=" + "a" * 63,
        "t=-1,v1=" + "a" * 64,
        "t=1700000000",
        "v1=" + "a" * 64,
        "t=1700000000,v1=" + "a" * 64 + ",v1=" + "b" * 64,
        "t=\u0661\u0667,v1=" + "a" * 64,
        "",
    ],
)
def test_a_malformed_signature_header_is_401_never_500(nt, token_ref, header):
    raw = json.dumps(lifecycle_event(token_ref, "evt_sig", "DELETED", at=1)).encode()
    response = nt[1].client.post(
        "/webhooks/token_service", raw, content_type="application/json", headers={SIGNATURE_HEADER: header}
    )
    assert_error(response, 401, "IR_01")
    assert token_row(token_ref)["network_token_status"] == "ACTIVE"


def test_received_event_ids_are_purged_after_their_retention(nt, token_ref, settings):
    push(nt[1], lifecycle_event(token_ref, "evt_kept", "ACTIVE", at=1))
    settings.VAULT_NT_EVENT_RETENTION_DAYS = 30
    assert network_token_events_purge(now=timezone.now() + timedelta(days=29)) == 0
    assert network_token_events_purge(now=timezone.now() + timedelta(days=31)) == 1
    assert not TokenLifecycleEvent.objects.exists()


@pytest.mark.parametrize("status", ["SUSPENDED", "EXPIRED"])
def test_get_token_of_a_token_the_vault_knows_is_not_active_is_422_naming_its_state(nt, token_ref, status):
    _, api, revealer, _ = nt
    push(
        api,
        lifecycle_event(token_ref, "evt_state", status, at=1, token_exp_year="2020" if status == "EXPIRED" else "2030"),
    )
    pm_id = PaymentMethod.objects.get(network_token_ref=token_ref).id
    body = assert_error(get_token(revealer, pm_id), 422, "IR_29")
    assert status.lower() in body["error"]["message"]
    event = AuditEvent.objects.filter(action="network_token.get", object_id=pm_id).get()
    assert event.outcome == "failure" and event.details == {"reason": f"token {status.lower()}"}


def test_get_token_of_a_token_the_service_suspended_unannounced_is_422_not_503(nt, simulator, token_ref):
    # The token service suspended the token and its webhook has not arrived: it answers 409 not_active.
    _, _, revealer, _ = nt
    status, _ = simulator.call("POST", f"/_sim/tokens/{token_ref}/events", {"event": "suspend"})
    assert status == 200
    pm_id = PaymentMethod.objects.get(network_token_ref=token_ref).id
    assert PaymentMethod.objects.get(pk=pm_id).network_token_status == "ACTIVE"  # no webhook configured here
    body = assert_error(get_token(revealer, pm_id, spelling="v2"), 422, "IR_29")
    assert "not active at the token service" in body["error"]["message"]


def test_the_simulator_guards_its_control_routes_and_its_events(simulator, nt):
    _, api, _, customer = nt
    pm = tokenized(api, customer["id"])
    ref = PaymentMethod.objects.get(pk=pm["id"]).network_token_ref
    assert simulator.call("GET", "/_sim/health", auth=False)[0] == 200
    assert simulator.call("POST", "/_sim/config", {"fail_rate": 1.0}, auth=False)[0] == 401
    assert simulator.call("POST", f"/_sim/tokens/{ref}/events", {"event": "delete"}, auth=False)[0] == 401
    assert simulator.call("POST", f"/_sim/tokens/{ref}/events", {"event": "explode"})[0] == 400
    reissue = {"event": "reissue", "token_exp_month": "13", "token_exp_year": "2031"}
    assert simulator.call("POST", f"/_sim/tokens/{ref}/events", reissue)[0] == 400
    assert simulator.call("POST", f"/_sim/tokens/{ref}/events", {"event": "delete"})[0] == 200
    assert simulator.call("POST", f"/_sim/tokens/{ref}/events", {"event": "resume"})[0] == 409
    assert simulator.call("GET", f"/v1/tokens/{ref}")[1]["status"] == "DELETED"


def test_a_create_that_timed_out_gets_its_token_when_the_card_is_vaulted_again(nt, simulator, settings):
    _, api, _, customer = nt
    settings.VAULT_NT_TIMEOUT = 0.3
    simulator.configure(latency_ms=800)  # the service issues the token, but after the vault gave up
    try:
        first = tokenized(api, customer["id"])
    finally:
        simulator.configure(latency_ms=0)
    assert first["network_token"] is None
    time.sleep(0.8)  # the service finishes issuing
    again = tokenized(api, customer["id"])
    assert again["id"] == first["id"] and again["network_token"] is not None
    row = PaymentMethod.objects.get(pk=first["id"])
    # The service holds one token for this card's reference: the one issued after the timeout.
    tokens = simulator.call("GET", "/v1/tokens?limit=500")[1]["tokens"]
    (reference,) = {t["requestor_reference"] for t in tokens if t["token_ref"] == row.network_token_ref}
    assert [t["token_ref"] for t in tokens if t["requestor_reference"] == reference] == [row.network_token_ref]
    token_number = crypto.open_sealed(row.sealed_card, merchant_id=row.merchant_id, record_id=row.id).token_number
    assert token_number and luhn_valid(token_number) and token_number != VISA


def test_reconcile_deletes_tokens_no_card_holds_and_leaves_the_others(nt, settings, tmp_path, request):
    _, api, _, customer = nt
    simulator = SimulatorProcess(tmp_path / "tokens.sqlite3")  # a service holding this test's tokens only
    settings.VAULT_NT_URL = simulator.url
    request.addfinalizer(simulator.stop)
    kept = tokenized(api, customer["id"])
    kept_ref = PaymentMethod.objects.get(pk=kept["id"]).network_token_ref
    # A token the service issued for a request the vault never saw answered.
    status, orphan = simulator.call(
        "POST",
        "/v1/tokens",
        {"card_number": card_number(5), "exp_month": "12", "exp_year": "2035", "requestor_reference": "vr_lost"},
    )
    assert status == 201
    dry = StringIO()
    call_command("reconcile_network_tokens", "--dry-run", stdout=dry)
    assert "2 token(s) at the token service; 1 unknown to the vault; would delete 1" in dry.getvalue()
    assert simulator.call("GET", f"/v1/tokens/{orphan['token_ref']}")[1]["status"] == "ACTIVE"
    out = StringIO()
    call_command("reconcile_network_tokens", stdout=out)
    assert "deleted 1" in out.getvalue()
    assert simulator.call("GET", f"/v1/tokens/{orphan['token_ref']}")[1]["status"] == "DELETED"
    assert simulator.call("GET", f"/v1/tokens/{kept_ref}")[1]["status"] == "ACTIVE"
    event = AuditEvent.objects.get(action="network_token.delete", object_id=orphan["token_ref"])
    assert event.details == {"reason": "held by no payment method"}


def test_a_card_vaulted_again_after_its_delete_gets_a_token_of_its_own(nt, simulator):
    _, api, _, customer = nt
    first = tokenized(api, customer["id"])
    first_ref = PaymentMethod.objects.get(pk=first["id"]).network_token_ref
    api.delete(f"/payment_methods/{first['id']}")  # its token awaits the worker
    second = tokenized(api, customer["id"])
    second_ref = PaymentMethod.objects.get(pk=second["id"]).network_token_ref
    assert second["id"] != first["id"] and second_ref and second_ref != first_ref
    call_command("run_worker", "--once", stdout=StringIO())
    assert simulator.call("GET", f"/v1/tokens/{first_ref}")[1]["status"] == "DELETED"
    assert simulator.call("GET", f"/v1/tokens/{second_ref}")[1]["status"] == "ACTIVE"


def test_the_simulator_keeps_connections_alive_and_in_step(simulator):
    """HTTP/1.1 keep-alive, as a real token service: several answers on one connection, including
    after a refused request whose body it never needed."""
    import http.client
    from urllib.parse import urlsplit

    address = urlsplit(simulator.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        body = json.dumps({"card_number": "x" * 40})
        connection.request("POST", "/v1/tokens", body=body, headers={"Content-Type": "application/json"})
        refused = connection.getresponse()
        assert refused.status == 401 and json.loads(refused.read())["error"]["code"] == "unauthorised"
        first = connection.sock
        for _ in range(3):
            connection.request("GET", "/v1/tokens/tok_" + "0" * 32, headers={"Authorization": f"Bearer {SIM_API_KEY}"})
            missing = connection.getresponse()
            assert missing.status == 404 and missing.getheader("Connection") != "close"
            missing.read()
        assert first is not None and connection.sock is first  # the same connection served all four
    finally:
        connection.close()


def test_requests_share_one_client_per_configuration(settings):
    """Its connections stay open between requests; a changed setting gets a client of its own."""
    from tokens.network.client import token_service

    first = token_service(retries=0)
    assert token_service(retries=0) is first and token_service(retries=2) is not first
    settings.VAULT_NT_TIMEOUT = 2.5
    changed = token_service(retries=0)
    assert changed is not first and changed.timeout == 2.5


def _calls(operation: str, outcome: str) -> float:
    from core.metrics import TOKEN_SERVICE_CALLS

    return TOKEN_SERVICE_CALLS.labels(operation, outcome)._value.get()


def test_each_call_is_counted_by_its_outcome(simulator):
    """/metrics tells a slow token service from an absent one."""
    from tokens.network.client import HttpTokenService, TokenServiceError

    unknown = "tok_" + "0" * 32
    before = {outcome: _calls("status", outcome) for outcome in ("404", "timeout", "unreachable")}
    with pytest.raises(TokenServiceError, match="does not know"):
        HttpTokenService(base_url=simulator.url, api_key=SIM_API_KEY, timeout=5, retries=0).status(unknown)
    simulator.configure(latency_ms=1000)
    with pytest.raises(TokenServiceError, match="unreachable"):
        HttpTokenService(base_url=simulator.url, api_key=SIM_API_KEY, timeout=0.3, retries=0).status(unknown)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    absent = HttpTokenService(base_url=f"http://127.0.0.1:{port}", api_key=SIM_API_KEY, timeout=5, retries=0)
    with pytest.raises(TokenServiceError, match="unreachable"):
        absent.status(unknown)
    assert {outcome: _calls("status", outcome) - before[outcome] for outcome in before} == {
        "404": 1,
        "timeout": 1,
        "unreachable": 1,
    }


@pytest.fixture
def proxy_environment(monkeypatch):
    """A recording HTTP proxy on 127.0.0.1 that answers 502, and an environment naming no other."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen = []

    class Proxy(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append((self.path, self.headers.get("Proxy-Authorization")))
            self.send_response(502)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{proxy.server_address[1]}", seen
    proxy.shutdown()
    proxy.server_close()


def test_the_environment_proxy_is_used_unless_no_proxy_exempts_the_host(simulator, monkeypatch, proxy_environment):
    """The proxy variables, read when the client is made, as requests and curl read them."""
    from tokens.network.client import HttpTokenService, TokenServiceError

    address, seen = proxy_environment
    path = f"/v1/tokens/tok_{'1' * 32}"

    def client():
        return HttpTokenService(base_url=simulator.url, api_key=SIM_API_KEY, timeout=5, retries=0)

    monkeypatch.setenv("HTTP_PROXY", f"http://{address}")
    with pytest.raises(TokenServiceError, match="answered 502"):
        client().status(f"tok_{'1' * 32}")
    assert seen == [(f"{simulator.url}{path}", None)]  # the absolute form a proxy gets
    # In lower case, without a scheme (an http:// proxy).
    monkeypatch.delenv("HTTP_PROXY")
    monkeypatch.setenv("http_proxy", address)
    with pytest.raises(TokenServiceError, match="answered 502"):
        client().status(f"tok_{'1' * 32}")
    assert seen[-1] == (f"{simulator.url}{path}", None)
    # Credentials in the proxy's URL go as Proxy-Authorization.
    monkeypatch.setenv("http_proxy", f"http://egress:s3cret@{address}")
    with pytest.raises(TokenServiceError, match="answered 502"):
        client().status(f"tok_{'1' * 32}")
    assert seen[-1] == (f"{simulator.url}{path}", "Basic " + base64.b64encode(b"egress:s3cret").decode())
    for exemption in ("127.0.0.1", "127.0.0.0/8"):  # a host, or an address range
        monkeypatch.setenv("NO_PROXY", exemption)
        with pytest.raises(TokenServiceError, match="does not know"):
            client().status(f"tok_{'1' * 32}")
    assert len(seen) == 3


def test_a_proxy_setting_urllib3_cannot_use_fails_the_call_not_the_request(
    nt, simulator, monkeypatch, proxy_environment
):
    """A SOCKS proxy (not supported): the client still builds, each call fails as an unreachable
    service would, and a create vaults the card without a token, as with the service down."""
    from tokens.network.client import HttpTokenService, TokenServiceError

    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:1080")
    service = HttpTokenService(base_url=simulator.url, api_key=SIM_API_KEY, timeout=5, retries=0)
    before = _calls("status", "unreachable")
    with pytest.raises(TokenServiceError, match="proxy unusable"):
        service.status(f"tok_{'1' * 32}")
    assert _calls("status", "unreachable") == before + 1
    from tokens.network.client import _client

    _client.cache_clear()
    _, api, _, customer = nt
    try:
        created = tokenized(api, customer["id"])
    finally:
        _client.cache_clear()
    assert PaymentMethod.objects.get(pk=created["id"]).network_token_ref in (None, "")
