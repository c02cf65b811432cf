"""Key rotation while other vault instances run: each reports its keys in a heartbeat, and `rotate_keys`
refuses a root rotation that an instance still on an older keyring would undo (the `local` provider).
"""

import os
from collections import Counter
from datetime import timedelta

import pytest
from django.core.management import CommandError
from django.utils import timezone

from audit.models import AuditEvent
from tests.tokens.test_key_rotation import KEK_1, activate_kek_2, kek_1_only, run, vault
from tokens.instances import instance_heartbeat, live_instances
from tokens.models import MerchantKey, VaultInstance

__all__ = ["kek_1_only", "vault"]  # fixtures, used by name


def _instance(pid: int, *, active_kek: str, keks=("1", "2"), seen_ago: float = 1.0) -> VaultInstance:
    now = timezone.now()
    return VaultInstance.objects.create(
        instance_id=f"instance-{pid}",
        host="vault-a",
        pid=pid,
        started_at=now - timedelta(hours=1),
        last_seen=now - timedelta(seconds=seen_ago),
        kek_versions=list(keks),
        active_kek=active_kek,
        fingerprint_versions=["1"],
        newest_fingerprint_key="1",
    )


def root_versions() -> Counter:
    return Counter(MerchantKey.objects.values_list("root_version", flat=True))


def test_rotation_is_refused_while_a_live_instance_still_encrypts_under_the_old_kek(settings, vault):
    vault(range(5))
    activate_kek_2(settings)
    _instance(101, active_kek="2")
    _instance(102, active_kek="1")  # restarted with the new keyring? not this one
    _instance(103, active_kek="1", keks=("1",), seen_ago=3600)  # long gone: ignored
    with pytest.raises(CommandError, match=r"refusing to rotate: 1 live instance\(s\).*pid 102 still encrypts under"):
        run("--no-progress")
    assert root_versions() == {"1": 1}
    status = run("--status")
    assert "instance vault-a pid 102: root key ?, KEKs 1, 2 (encrypts under 1)" in status
    assert "root key local:1: wraps 1 merchant key(s) (older: `rotate_keys --root` moves these)" in status
    assert "pid 103" not in status


def test_a_forced_rotation_goes_on_and_is_audited(settings, vault):
    vault(range(5))
    activate_kek_2(settings)
    _instance(102, active_kek="1", keks=("1",))
    output = run("--no-progress", "--force")
    assert "re-wrapped 1 merchant key(s) under root key local:2" in output
    assert root_versions() == {"2": 1}
    event = AuditEvent.objects.get(action="keys.rotation_forced")
    assert event.details == {"instances": ["vault-a pid 102 (lacks KEK version 2)"]}


def test_a_heartbeat_reports_this_process_keys_without_material(settings, db):
    activate_kek_2(settings)
    started = timezone.now()
    instance_heartbeat(instance_id="me", started_at=started)
    row = VaultInstance.objects.get(pk="me")
    assert (row.kek_versions, row.active_kek, row.fingerprint_versions) == (["1", "2"], "2", ["1"])
    assert row.root_key == "local:2"
    assert row.pid == os.getpid() and row.started_at == started
    assert KEK_1.hex() not in str(VaultInstance.objects.values().get(pk="me"))
    assert [instance.instance_id for instance in live_instances()] == ["me"]
