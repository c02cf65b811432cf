"""The audit trail's chain of MACs, the sealer that gives new rows their place in it, and on
PostgreSQL the trigger that makes the table append-only."""

import io
import json
import threading
import time
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, connection, connections, transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit import chain
from audit.actions import AuditAction
from audit.actors import Actor
from audit.models import AuditChainHead, AuditEvent
from audit.sealing import seal_pending
from audit.services import audit_record
from tests.helpers.console import current_code, make_console_user

ACTOR = Actor(kind="operator", id="pytest", origin="127.0.0.1")
POSTGRES = pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")


def record(count: int, *, seal: bool = True, **extra) -> list[AuditEvent]:
    """*count* audited acts, each in its own transaction; then, unless seal=False, the sealer's pass."""
    events = []
    for index in range(count):
        with transaction.atomic():
            events.append(
                audit_record(
                    actor=ACTOR,
                    action=AuditAction.CUSTOMER_CREATE,
                    object_type="customer",
                    object_id=f"cus_{index}",
                    merchant_id="mer_chain",
                    details={"index": index, "nested": {"b": [1, 2], "a": "ü"}, **extra},
                )
            )
    if seal:
        assert seal_pending().refused_id is None
        for event in events:
            event.refresh_from_db()
    return events


def verify() -> str:
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def verify_fails() -> str:
    with pytest.raises(CommandError) as refused:
        verify()
    return str(refused.value)


def behind_the_vault(sql: str, params=()) -> None:
    """Change the table as someone with database access would; on PostgreSQL, as a superuser who
    switches the trigger off (session_replication_role), to show the chain catches even that."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(sql, params)
        finally:
            if connection.vendor == "postgresql":
                cursor.execute("SET session_replication_role = DEFAULT")


def test_rows_are_chained_in_order_and_verify(db):
    events = record(5)
    assert [event.seq for event in events] == [1, 2, 3, 4, 5]
    assert all(event.mac.startswith(f"{chain.newest_version()}$") for event in events)
    head = AuditChainHead.objects.get()
    assert (head.seq, head.mac) == (5, events[-1].mac)
    assert "checked 5 row(s)" in verify() and "verifies" in verify()


def test_a_changed_row_is_named(db):
    events = record(5)
    behind_the_vault("UPDATE audit_auditevent SET actor_id = 'someone-else' WHERE id = %s", [events[2].pk])
    assert "row 3 " in verify_fails() and "does not match its MAC" in verify_fails()


def test_a_changed_detail_is_named(db):
    events = record(3)
    behind_the_vault("UPDATE audit_auditevent SET outcome = 'denied' WHERE id = %s", [events[0].pk])
    assert "row 1 " in verify_fails()


def test_a_row_removed_from_the_middle_is_named(db):
    events = record(6)
    behind_the_vault("DELETE FROM audit_auditevent WHERE id = %s", [events[3].pk])
    assert "rows 4..4 of the chain are missing" in verify_fails()


def test_a_row_inserted_with_a_made_up_mac_is_named(db):
    events = record(3)
    forged = f"{chain.newest_version()}$" + "0" * 64
    behind_the_vault("UPDATE audit_auditevent SET mac = %s WHERE id = %s", [forged, events[1].pk])
    assert "row 2 " in verify_fails()


def test_a_row_inserted_outside_the_chain_is_named_and_never_sealed(db):
    record(2)
    behind_the_vault(
        "INSERT INTO audit_auditevent (occurred_at, actor_kind, actor_id, merchant_id, action, object_type, "
        "object_id, outcome, request_id, origin, details, mac) VALUES "
        "(CURRENT_TIMESTAMP, 'admin', 'ghost', '', 'api_key.issue', '', '', 'success', '', '', '{}', '')"
    )
    ghost = AuditEvent.objects.get(actor_id="ghost")
    assert f"row id {ghost.pk}, not yet in the chain" in verify_fails()
    assert "inserted behind the vault" in verify_fails()
    assert seal_pending().refused_id == ghost.pk
    assert AuditEvent.objects.get(pk=ghost.pk).seq is None


def test_a_copy_of_a_waiting_row_cannot_be_inserted_nor_passed_off_with_another_nonce(db):
    original = record(1, seal=False)[0]
    columns = (
        "occurred_at, actor_kind, actor_id, merchant_id, action, object_type, object_id, outcome, "
        "request_id, origin, details, mac"
    )
    copy = f"INSERT INTO audit_auditevent ({columns}, nonce) SELECT {columns}, %s FROM audit_auditevent WHERE id = %s"  # noqa: S608 - fixed column names
    # Appending is what the application's role may do: no trigger to skip.
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(copy, [original.nonce, original.pk])
    with connection.cursor() as cursor:
        cursor.execute(copy, ["0" * 32, original.pk])
    forged = AuditEvent.objects.exclude(pk=original.pk).get()
    assert f"row id {forged.pk}, not yet in the chain, does not match its MAC" in verify_fails()
    assert seal_pending().refused_id == forged.pk


def test_a_waiting_row_moved_before_the_chain_start_is_named(db, tmp_path):
    record(2)
    hidden = record(1, seal=False)[0]
    behind_the_vault("UPDATE audit_auditevent SET seq = 0 WHERE id = %s", [hidden.pk])
    assert f"row id {hidden.pk} has a place at or before where the chain starts" in verify_fails()


def test_new_rows_wait_with_their_own_mac_until_the_sealer_chains_them_in_id_order(db):
    waiting = record(3, seal=False)
    assert all(event.seq is None for event in waiting)
    assert all(event.mac.startswith(f"{chain.newest_version()}$") for event in waiting)
    out = verify()
    assert "checked 0 row(s)" in out and "3 newer row(s) wait for their place" in out
    assert seal_pending().rows == 3
    chained = list(AuditEvent.objects.order_by("id"))
    assert [event.seq for event in chained] == [1, 2, 3]
    assert all(event.mac != before.mac for event, before in zip(chained, waiting, strict=True))
    head = AuditChainHead.objects.get()
    assert (head.seq, head.mac) == (3, chained[-1].mac)
    assert "checked 3 row(s)" in verify() and "wait for their place" not in verify()
    assert seal_pending().rows == 0  # nothing left to do


def test_the_sealer_works_in_batches_and_carries_the_chain_across_them(db):
    record(7, seal=False)
    assert seal_pending(batch=3).rows == 7
    assert sorted(AuditEvent.objects.values_list("seq", flat=True)) == list(range(1, 8))
    assert "checked 7 row(s)" in verify()


def test_a_waiting_row_changed_behind_the_vault_is_named_and_the_chain_stops_before_it(db, caplog):
    waiting = record(4, seal=False)
    behind_the_vault("UPDATE audit_auditevent SET actor_id = 'someone-else' WHERE id = %s", [waiting[2].pk])
    assert f"row id {waiting[2].pk}, not yet in the chain, does not match its MAC" in verify_fails()
    sealed = seal_pending()
    assert (sealed.rows, sealed.refused_id) == (2, waiting[2].pk)
    assert f"audit row id {waiting[2].pk} does not match its own MAC" in caplog.text
    seqs = dict(AuditEvent.objects.values_list("id", "seq"))
    assert [seqs[event.pk] for event in waiting] == [1, 2, None, None]
    with pytest.raises(CommandError, match=f"audit row id {waiting[2].pk} does not match its MAC"):
        call_command("export_audit", "--before", "2100-01-01", "--output", "/nonexistent/never-written.jsonl")


def test_run_worker_seals_what_waits(db):
    record(2, seal=False)
    call_command("run_worker", "--once", stdout=io.StringIO())
    assert sorted(AuditEvent.objects.values_list("seq", flat=True)) == [1, 2]


def test_the_newest_rows_removed_are_named_by_the_head(db):
    events = record(4)
    behind_the_vault("DELETE FROM audit_auditevent WHERE id = %s", [events[-1].pk])
    assert "the head names row 4 but the chain ends at row 3" in verify_fails()


def test_a_key_version_the_instance_lacks_fails_verification(db, settings):
    record(2)
    settings.VAULT_AUDIT_KEYS = {"7": bytes(range(32))}
    assert "row 1 " in verify_fails()


def test_rows_signed_by_an_older_key_still_verify_after_a_new_key_is_added(db, settings):
    record(2)
    settings.VAULT_AUDIT_KEYS = {**settings.VAULT_AUDIT_KEYS, "99": bytes(range(100, 132))}
    newer = record(1)
    assert newer[0].mac.startswith("99$")
    assert "checked 3 row(s)" in verify()


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_sealers_and_verifiers_build_one_chain(django_db_blocker):
    """Four threads (four database connections) append at once while two sealers and a verifier run:
    one chain, no fork, no gap, and the verifier never sees a half-sealed chain."""
    errors, verdicts = [], []
    # Between turns the sealers and the verifier pause, as the worker does: on SQLite each turn holds
    # the write lock, and a loop that takes it again at once could starve the writers past the
    # database's 20-second busy timeout.
    pause = 0.005
    writing = threading.Event()
    writing.set()

    def writer() -> None:
        try:
            record(15, seal=False)
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def sealer() -> None:
        try:
            while writing.is_set():
                seal_pending(wait=False, batch=4)
                time.sleep(pause)
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def verifier() -> None:
        try:
            while writing.is_set():
                verdicts.append(chain.verify_chain(chunk_size=7))
                time.sleep(pause)
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    writers = [threading.Thread(target=writer) for _ in range(4)]
    helpers = [threading.Thread(target=sealer), threading.Thread(target=sealer), threading.Thread(target=verifier)]
    for thread in writers + helpers:
        thread.start()
    for thread in writers:
        thread.join(timeout=120)
    writing.clear()
    for thread in helpers:
        thread.join(timeout=120)
    assert not errors, errors
    assert verdicts and all(verdict.problem is None for verdict in verdicts), [v.problem for v in verdicts]
    seal_pending()
    assert sorted(AuditEvent.objects.values_list("seq", flat=True)) == list(range(1, 61))
    assert "checked 60 row(s)" in verify()


@POSTGRES
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET actor_id = 'x'",
        "DELETE FROM audit_auditevent",
        "TRUNCATE audit_auditevent",
    ],
)
def test_postgresql_refuses_to_change_or_remove_audit_rows(db, statement):
    record(2)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert AuditEvent.objects.count() == 2


@POSTGRES
@POSTGRES
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET seq = 99, actor_id = 'x' WHERE seq IS NULL",  # content changed with it
        "UPDATE audit_auditevent SET mac = 'x' WHERE seq IS NULL",  # a MAC without a place
        "UPDATE audit_auditevent SET seq = seq + 100 WHERE seq IS NOT NULL",  # a place moved
        "UPDATE audit_auditevent SET seq = NULL WHERE seq IS NOT NULL",  # a place taken back
        "UPDATE audit_auditevent SET seq = 0 WHERE seq IS NULL",  # a place before the head: out of sight
        "UPDATE audit_auditevent SET seq = 1 WHERE seq IS NULL",  # the head's own place
        "UPDATE audit_auditevent SET nonce = NULL WHERE seq IS NULL",  # the nonce under its MAC
    ],
)
def test_postgresql_lets_only_the_sealers_change_through(db, statement):
    record(1)
    record(1, seal=False)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert seal_pending().rows == 1
    assert "checked 2 row(s)" in verify()


@POSTGRES
def test_postgresql_refuses_the_orm_bypass_too(db):
    record(1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent._base_manager.all().update(actor_id="x")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent._base_manager.all()._raw_delete(connection.alias)


# --- Retention: export with a signed checkpoint, removal by a superuser, the chain re-anchored ----


def backdate(events: list[AuditEvent], days: int) -> None:
    """Make *events* older (the MACs are recomputed, as if they had been written then)."""
    previous = ""
    head = AuditChainHead.objects.get()
    for event in AuditEvent.objects.order_by("seq"):
        if event.pk in {e.pk for e in events}:
            event.occurred_at = event.occurred_at - timedelta(days=days)
        fields = {name: getattr(event, name) for name in chain.CHAINED_FIELDS}
        event.mac = chain.row_mac(fields, previous)
        behind_the_vault(
            "UPDATE audit_auditevent SET occurred_at = %s, mac = %s WHERE id = %s",
            [event.occurred_at, event.mac, event.pk],
        )
        previous = event.mac
    AuditChainHead.objects.filter(pk=head.pk).update(mac=previous)


def prune(path, superuser) -> str:
    # A code counts once, and a wrong one delays the next: each call here gets a fresh chance.
    TOTPDevice.objects.filter(pk=superuser.device.pk).update(last_t=-1, throttling_failure_count=0)
    superuser.device.refresh_from_db()
    out = io.StringIO()
    call_command("prune_audit", str(path), "--by", "root", "--code", current_code(superuser.device), stdout=out)
    return out.getvalue()


def test_old_rows_are_exported_removed_by_a_superuser_and_the_rest_still_verifies(db, tmp_path):
    superuser = make_console_user("root", None, superuser=True)
    old = record(4)
    backdate(old, days=400)
    record(3)
    assert "checked 7 row(s)" in verify()
    export = tmp_path / "audit-old.jsonl"
    out = io.StringIO()
    call_command("export_audit", "--before", (timezone.now() - timedelta(days=365)).date().isoformat(),
                 "--output", str(export), stdout=out)  # fmt: skip
    assert "exported rows 1..4 (4)" in out.getvalue()
    lines = [json.loads(line) for line in export.read_text().splitlines()]
    assert [line["seq"] for line in lines[:-1]] == [1, 2, 3, 4] and lines[-1]["checkpoint"]["last_seq"] == 4
    assert AuditEvent.objects.count() == 7  # exporting removes nothing

    assert "removed 4 audit row(s)" in prune(export, superuser)
    seal_pending()
    assert sorted(AuditEvent.objects.values_list("seq", flat=True)) == [5, 6, 7, 8]  # 8: the removal itself
    removal = AuditEvent.objects.get(action="audit.remove_exported")
    assert removal.details["approved_by"] == "root" and removal.details["last_seq"] == 4
    assert "checked 4 row(s)" in verify()
    # The same export cannot be removed twice, and the next export starts after it.
    with pytest.raises(CommandError, match="does not start where the chain now starts"):
        prune(export, superuser)


def test_a_changed_export_or_a_non_superuser_removes_nothing(db, tmp_path):
    superuser = make_console_user("root", None, superuser=True)
    make_console_user("ada-admin")
    backdate(record(3), days=400)
    export = tmp_path / "audit-old.jsonl"
    call_command("export_audit", "--before", "2100-01-01", "--output", str(export), stdout=io.StringIO())
    original = export.read_text()

    export.write_text(original.replace('"actor_id": "pytest"', '"actor_id": "nobody"', 1))
    with pytest.raises(CommandError, match="row 1 of the file does not verify"):
        prune(export, superuser)
    export.write_text(original.replace('"last_seq": 3', '"last_seq": 2', 1))
    with pytest.raises(CommandError, match="signature does not verify"):
        prune(export, superuser)
    export.write_text(original)
    with pytest.raises(CommandError, match="not an active superuser"):
        call_command("prune_audit", str(export), "--by", "ada-admin", "--code", "123456")
    with pytest.raises(CommandError, match="does not match an authenticator"):
        call_command("prune_audit", str(export), "--by", "root", "--code", "000000" if current_code(
            superuser.device) != "000000" else "111111")  # fmt: skip
    assert AuditEvent.objects.count() == 3
    assert "removed 3 audit row(s)" in prune(export, superuser)


def test_an_export_is_refused_when_the_chain_is_broken(db, tmp_path):
    events = record(3)
    behind_the_vault("UPDATE audit_auditevent SET actor_id = 'x' WHERE id = %s", [events[1].pk])
    with pytest.raises(CommandError, match="does not verify at row 2"):
        call_command("export_audit", "--before", "2100-01-01", "--output", str(tmp_path / "x.jsonl"))
    assert not (tmp_path / "x.jsonl").exists()


@POSTGRES
@pytest.mark.django_db(transaction=True)
def test_the_documented_application_role_can_append_but_never_change_the_trail():
    """docs/sql/application_role.sql, run as written (role names made unique to this run)."""
    import uuid
    from pathlib import Path

    import psycopg

    suffix = uuid.uuid4().hex[:8]
    app, owner = f"vault_app_{suffix}", f"vault_owner_{suffix}"
    script = (Path(__file__).resolve().parents[2] / "docs" / "sql" / "application_role.sql").read_text()
    script = script.replace(":app_password", "'test-only-password'").replace("vault_app", app)
    script = script.replace("vault_owner", owner)
    sql = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("--"))
    record(1)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {owner} NOLOGIN")
        for statement in (part for part in sql.split(";") if part.strip()):
            cursor.execute(statement)
    settings_dict = connection.settings_dict
    try:
        with psycopg.connect(
            host=settings_dict["HOST"] or "127.0.0.1",
            port=settings_dict["PORT"] or 5432,
            dbname=settings_dict["NAME"],
            user=app,
            autocommit=True,
        ) as conn:
            for statement in ("UPDATE audit_auditevent SET actor_id = 'x'", "DELETE FROM audit_auditevent",
                              "TRUNCATE audit_auditevent",
                              "DROP TRIGGER audit_auditevent_no_update_or_delete ON audit_auditevent"):  # fmt: skip
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(statement)
            assert conn.execute("SELECT count(*) FROM tokens_paymentmethod").fetchone() == (0,)
            conn.execute(  # appending is allowed (the vault appends through audit_record)
                "INSERT INTO audit_auditevent (occurred_at, actor_kind, actor_id, merchant_id, action, object_type, "
                "object_id, outcome, request_id, origin, details, mac) VALUES (now(), 'system', 'role-test', '', "
                "'x', '', '', 'success', '', '', '{}', '')"
            )
            # ...and giving a waiting row its place (the sealer's write), once: never moving it after.
            conn.execute("UPDATE audit_auditevent SET seq = 1000000, mac = 'm' WHERE actor_id = 'role-test'")
            for statement in ("UPDATE audit_auditevent SET seq = 2000000 WHERE actor_id = 'role-test'",
                              "UPDATE audit_auditevent SET origin = 'x' WHERE seq IS NULL"):  # fmt: skip
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(statement)
    finally:
        with connection.cursor() as cursor:
            for role in (app, owner):
                cursor.execute(f"DROP OWNED BY {role}")
                cursor.execute(f"DROP ROLE {role}")
