"""Locked accounts in the console, unlocked with a reason; role and account deletions in the trail."""

import pytest
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Group, Permission, User
from django.test import Client

from audit.models import AuditEvent
from console import roles
from tests.helpers.console import ADMIN, PASSWORD, make_console_user, verified_client

LOCKED = f"{ADMIN}console/lockedsignin/"


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def lock_out(username: str) -> None:
    for _ in range(10):
        Client().post(f"{ADMIN}login/", {"username": username, "password": "Not-the-passw0rd", "next": ADMIN})
    refused = Client().post(f"{ADMIN}login/", {"username": username, "password": PASSWORD, "next": ADMIN})
    assert refused.status_code == 429


def unlock(client: Client, attempt_ids: list[int], reason: str | None):
    data = {"action": "unlock_selected", "_selected_action": attempt_ids}
    if reason is not None:
        data["reason"] = reason
    return client.post(LOCKED, data)


def test_an_administrator_sees_a_locked_account_and_unlocks_it_with_a_reason(db):
    ada = make_console_user("ada-admin", roles.ADMINISTRATORS)
    make_console_user("carol", roles.SUPPORT)
    lock_out("carol")
    lock_out("someone-who-does-not-exist")  # what was typed may be a password: never listed
    client = verified_client(ada)
    page = client.get(LOCKED).content.decode()
    assert "carol" in page and "someone-who-does-not-exist" not in page
    assert "Locked sign-ins" in client.get(ADMIN).content.decode()

    from console.models import LockedSignIn

    ids = list(LockedSignIn.objects.filter(username="carol").values_list("pk", flat=True))
    confirm = unlock(client, ids, None)
    assert confirm.status_code == 200 and 'name="reason"' in confirm.content.decode()
    assert unlock(client, ids, "   ").status_code == 200  # a reason is required
    assert not AuditEvent.objects.filter(action="admin.unlock").exists()

    assert unlock(client, ids, "Carol called from her desk phone; verified by her manager").status_code == 302
    event = AuditEvent.objects.get(action="admin.unlock")
    assert event.actor_id == "ada-admin" and event.object_id == str(User.objects.get(username="carol").pk)
    assert event.details["reason"].startswith("Carol called") and event.details["attempts_cleared"] >= 1
    assert "0 locked sign-ins" in client.get(LOCKED).content.decode()
    assert (
        Client().post(f"{ADMIN}login/", {"username": "carol", "password": PASSWORD, "next": ADMIN}).status_code == 302
    )


def test_a_superusers_lock_out_is_for_a_superuser_and_support_sees_no_lock_outs(db):
    ada = make_console_user("ada-admin", roles.ADMINISTRATORS)
    make_console_user("root", None, superuser=True)
    other_root = make_console_user("root2", None, superuser=True)
    lock_out("root")
    assert "0 locked sign-ins" in verified_client(ada).get(LOCKED).content.decode()
    assert "1 locked sign-in" in verified_client(other_root).get(LOCKED).content.decode()

    from console.models import LockedSignIn

    ids = list(LockedSignIn.objects.filter(username="root").values_list("pk", flat=True))
    unlock(verified_client(ada), ids, "trust me")
    assert not AuditEvent.objects.filter(action="admin.unlock").exists()  # not in the administrator's reach
    assert unlock(verified_client(other_root), ids, "Root's owner is back from leave").status_code == 302
    assert AuditEvent.objects.get(action="admin.unlock").actor_id == "root2"

    support = verified_client(make_console_user("sam", roles.SUPPORT))
    assert support.get(LOCKED).status_code == 403
    assert AuditEvent.objects.filter(action="admin.denied", actor_id="sam").exists()


def test_role_changes_are_audited_with_the_permissions_gained_and_lost(db):
    root = verified_client(make_console_user("root", None, superuser=True))
    view_card = Permission.objects.get(content_type__app_label="tokens", codename="view_paymentmethod")
    view_merchant = Permission.objects.get(content_type__app_label="merchants", codename="view_merchant")
    assert (
        root.post(f"{ADMIN}auth/group/add/", {"name": "Auditors", "permissions": [view_merchant.pk]}).status_code == 302
    )
    group = Group.objects.get(name="Auditors")
    created = AuditEvent.objects.get(action="admin_group.create")
    assert created.details["permissions_added"] == ["merchants.view_merchant"] and created.actor_id == "root"

    url = f"{ADMIN}auth/group/{quote(group.pk)}/change/"
    assert root.post(url, {"name": "Auditors", "permissions": [view_card.pk]}).status_code == 302
    changed = AuditEvent.objects.get(action="admin_group.change")
    assert changed.details["permissions_added"] == ["tokens.view_paymentmethod"]
    assert changed.details["permissions_removed"] == ["merchants.view_merchant"]

    User.objects.get(username="root").groups.add(group)
    assert root.post(f"{ADMIN}auth/group/{quote(group.pk)}/delete/", {"post": "yes"}).status_code == 302
    deleted = AuditEvent.objects.get(action="admin_group.delete")
    assert deleted.details == {"name": "Auditors", "permissions": ["tokens.view_paymentmethod"], "members": ["root"]}

    # Administrators hold no permission on roles at all.
    ada = verified_client(make_console_user("ada-admin", roles.ADMINISTRATORS))
    admins = Group.objects.get(name=roles.ADMINISTRATORS)
    response = ada.post(
        f"{ADMIN}auth/group/{quote(admins.pk)}/change/", {"name": roles.ADMINISTRATORS, "permissions": [view_card.pk]}
    )
    assert response.status_code == 403
    assert not admins.permissions.filter(pk=view_card.pk).exists()


def test_deleting_a_console_user_is_for_superusers_and_audited(db):
    victim = make_console_user("mallory", roles.ADMINISTRATORS)
    url = f"{ADMIN}auth/user/{quote(victim.user.pk)}/delete/"
    assert (
        verified_client(make_console_user("ada-admin", roles.ADMINISTRATORS)).post(url, {"post": "yes"}).status_code
        == 403
    )
    assert (
        verified_client(make_console_user("root", None, superuser=True)).post(url, {"post": "yes"}).status_code == 302
    )
    event = AuditEvent.objects.get(action="admin_user.delete")
    assert event.details == {"username": "mallory"} and event.object_id == str(victim.user.pk)
    assert not User.objects.filter(username="mallory").exists()
