"""Roles that cannot be escalated: each path an administrator with bad intent tried, refused and audited."""

import io

import pytest
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEvent
from console import roles
from console.models import EnrolmentCode
from tests.helpers.console import ADMIN, PASSWORD, current_code, make_console_user, verified_client

NEW_PASSWORD = "A-long-Passw0rd-here"


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def ada(db):
    return make_console_user("ada-admin", roles.ADMINISTRATORS)


@pytest.fixture
def bob(db):
    return make_console_user("bob-admin", roles.ADMINISTRATORS)


@pytest.fixture
def root(db):
    return make_console_user("root", None, superuser=True)


def user_form(user: User, *, access: bool = False, **changes) -> dict:
    """What the change page posts for *user*, with *changes* on top; *access* adds the fields a
    superuser's page offers for another member (staff flag and roles)."""
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on" if user.is_active else "",
        # A superuser's page edits the dates too (split date and time inputs).
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
    }
    if access:
        data.update(is_staff="on" if user.is_staff else "", groups=[group.pk for group in user.groups.all()])
    data.update(changes)
    return {key: value for key, value in data.items() if value not in ("", None)}


def role_names(user: User) -> list[str]:
    return sorted(user.groups.values_list("name", flat=True))


def denied_paths(username: str) -> list[str]:
    return list(
        AuditEvent.objects.filter(action="admin.denied", actor_id=username, outcome="denied").values_list(
            "details__path", flat=True
        )
    )


def test_an_administrator_cannot_add_the_support_role_to_their_own_account(ada):
    client = verified_client(ada)
    support = Group.objects.get(name=roles.SUPPORT)
    url = f"{ADMIN}auth/user/{quote(ada.user.pk)}/change/"
    form = client.get(url).content.decode()
    assert 'name="groups"' not in form  # shown, not editable
    own_roles = [group.pk for group in ada.user.groups.all()]
    response = client.post(url, user_form(ada.user, is_active="", groups=[support.pk, *own_roles]))
    assert response.status_code == 403  # a crafted form: refused, not silently trimmed
    assert role_names(ada.user) == [roles.ADMINISTRATORS]
    refusal = AuditEvent.objects.get(action="admin.denied", actor_id="ada-admin", details__method="POST")
    assert refusal.details["reason"] == "read-only access fields posted: groups"
    assert client.get(f"{ADMIN}tokens/paymentmethod/").status_code == 403
    assert f"/{ADMIN.strip('/')}/tokens/paymentmethod/" in denied_paths("ada-admin")


def test_nobody_changes_their_own_roles_not_even_a_superuser(root):
    client = verified_client(root)
    admins = Group.objects.get(name=roles.ADMINISTRATORS)
    response = client.post(f"{ADMIN}auth/user/{quote(root.user.pk)}/change/", user_form(root.user, groups=[admins.pk]))
    assert response.status_code == 403
    assert role_names(root.user) == []
    assert "groups" in AuditEvent.objects.get(action="admin.denied", actor_id="root").details["reason"]
    # Their own name and e-mail they change as usual.
    response = client.post(f"{ADMIN}auth/user/{quote(root.user.pk)}/change/", user_form(root.user, email="r@x.test"))
    assert response.status_code == 302


def test_an_administrator_cannot_change_another_members_roles(ada, bob):
    client = verified_client(ada)
    support = Group.objects.get(name=roles.SUPPORT)
    url = f"{ADMIN}auth/user/{quote(bob.user.pk)}/change/"
    assert client.post(url, user_form(bob.user, groups=[support.pk], email="b@x.test")).status_code == 403
    bob.user.refresh_from_db()
    assert role_names(bob.user) == [roles.ADMINISTRATORS] and bob.user.email == "bob-admin@vault.test"
    assert client.post(url, user_form(bob.user, email="b@x.test")).status_code == 302
    bob.user.refresh_from_db()
    assert role_names(bob.user) == [roles.ADMINISTRATORS] and bob.user.email == "b@x.test"
    event = AuditEvent.objects.get(action="admin_user.change", object_id=str(bob.user.pk))
    assert event.actor_id == "ada-admin" and event.details["fields"] == ["email"] and "roles" not in event.details


def test_a_superuser_changes_roles_and_the_trail_says_before_and_after(root, bob):
    support = Group.objects.get(name=roles.SUPPORT)
    response = verified_client(root).post(
        f"{ADMIN}auth/user/{quote(bob.user.pk)}/change/", user_form(bob.user, access=True, groups=[support.pk])
    )
    assert response.status_code == 302
    assert role_names(bob.user) == [roles.SUPPORT]
    event = AuditEvent.objects.get(action="admin_user.change", object_id=str(bob.user.pk))
    assert event.details["roles"] == {"before": [roles.ADMINISTRATORS], "after": [roles.SUPPORT]}


def test_an_administrator_cannot_reset_another_members_password(ada, bob):
    client = verified_client(ada)
    url = f"{ADMIN}auth/user/{quote(bob.user.pk)}/password/"
    assert client.get(url).status_code == 403
    response = client.post(url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"})
    assert response.status_code == 403
    bob.user.refresh_from_db()
    assert bob.user.check_password(PASSWORD)
    assert url in denied_paths("ada-admin")


def test_a_superuser_resets_a_password_and_it_is_audited(root, bob):
    url = f"{ADMIN}auth/user/{quote(bob.user.pk)}/password/"
    response = verified_client(root).post(
        url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"}
    )
    assert response.status_code == 302
    bob.user.refresh_from_db()
    assert bob.user.check_password(NEW_PASSWORD)
    event = AuditEvent.objects.get(action="admin_user.password", object_id=str(bob.user.pk))
    assert event.actor_id == "root" and NEW_PASSWORD not in str(event.details)


def test_an_administrator_cannot_remove_another_members_authenticator(ada, bob):
    client = verified_client(ada)
    url = f"{ADMIN}otp_totp/totpdevice/{quote(bob.device.pk)}/delete/"
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert TOTPDevice.objects.filter(pk=bob.device.pk).exists()
    assert url in denied_paths("ada-admin")


def test_administrators_create_users_but_only_a_superuser_gives_the_support_role(ada, root):
    client = verified_client(ada)
    form = client.get(f"{ADMIN}auth/user/add/").content.decode()
    assert f'value="{roles.ADMINISTRATORS}"' in form and f'value="{roles.SUPPORT}"' not in form
    body = {"username": "carol", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"}
    refused = client.post(f"{ADMIN}auth/user/add/", {**body, "role": roles.SUPPORT})
    assert refused.status_code == 200 and not User.objects.filter(username="carol").exists()
    created = client.post(f"{ADMIN}auth/user/add/", {**body, "role": roles.ADMINISTRATORS})
    assert created.status_code == 302, created.content[:500]
    carol = User.objects.get(username="carol")
    assert carol.is_staff and not carol.is_superuser and role_names(carol) == [roles.ADMINISTRATORS]
    event = AuditEvent.objects.get(action="admin_user.create", object_id=str(carol.pk))
    assert (event.actor_id, event.details["role"]) == ("ada-admin", roles.ADMINISTRATORS)

    superuser = verified_client(root)
    assert f'value="{roles.SUPPORT}"' in superuser.get(f"{ADMIN}auth/user/add/").content.decode()
    body["username"] = "dave"
    assert superuser.post(f"{ADMIN}auth/user/add/", {**body, "role": roles.SUPPORT}).status_code == 302
    assert role_names(User.objects.get(username="dave")) == [roles.SUPPORT]


def test_a_superuser_and_their_rights_stay_out_of_an_administrators_reach(ada, root):
    client = verified_client(ada)
    assert client.get(f"{ADMIN}auth/user/{quote(root.user.pk)}/change/").status_code == 200  # view only
    assert client.post(f"{ADMIN}auth/user/{quote(root.user.pk)}/change/", {"username": "x"}).status_code == 403
    form = client.get(f"{ADMIN}auth/user/{quote(ada.user.pk)}/change/").content.decode()
    assert 'name="is_superuser"' not in form and 'name="user_permissions"' not in form
    response = client.post(f"{ADMIN}auth/user/{quote(ada.user.pk)}/change/", user_form(ada.user, is_superuser="on"))
    assert response.status_code == 403
    ada.user.refresh_from_db()
    assert not ada.user.is_superuser


def sign_in(username: str, password: str = PASSWORD) -> Client:
    client = Client()
    response = client.post(f"{ADMIN}login/", {"username": username, "password": password, "next": ADMIN})
    assert response.status_code == 302
    return client


def test_after_an_authenticator_is_removed_the_password_alone_does_not_enrol_a_new_one(root):
    # A superuser removes Eve's lost authenticator; the trail remembers it.
    bob_fresh = make_console_user("bob-other", roles.ADMINISTRATORS, enrolled=False)  # never enrolled: no code needed
    response = verified_client(root).post(
        f"{ADMIN}otp_totp/totpdevice/{quote(make_console_user('eve', None).device.pk)}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    eve = User.objects.get(username="eve")
    assert AuditEvent.objects.filter(action="admin.totp.remove", object_id=str(eve.pk), actor_id="root").exists()

    # Whoever knows Eve's password gets no QR code, only the question for an enrolment code.
    client = sign_in("eve")
    step = client.get(f"{ADMIN}login/otp/").content.decode()
    assert 'id="totp-qr"' not in step and 'name="enrolment_code"' in step
    wrong = client.post(f"{ADMIN}login/otp/", {"enrolment_code": "AAAA-BBBB-CCCC-DDDD"})
    assert "not valid" in wrong.content.decode() and 'id="totp-qr"' not in wrong.content.decode()
    assert not TOTPDevice.objects.filter(user=eve).exists()

    # An administrator cannot issue codes; a superuser can, on the user's page, shown once.
    admin_client = verified_client(make_console_user("ada-admin", roles.ADMINISTRATORS))
    assert admin_client.post(f"{ADMIN}auth/user/{eve.pk}/enrolment-code/").status_code == 403
    superuser = verified_client(root)
    assert "issue-enrolment-code" in superuser.get(f"{ADMIN}auth/user/{eve.pk}/change/").content.decode()
    issued = superuser.post(f"{ADMIN}auth/user/{eve.pk}/enrolment-code/")
    assert issued["Cache-Control"] == "no-store"
    code = issued.content.decode().split('id="enrolment-code" class="vault-secret">')[1].split("<")[0]
    assert EnrolmentCode.objects.get(user=eve).code_hash not in issued.content.decode()

    accepted = client.post(f"{ADMIN}login/otp/", {"enrolment_code": code.lower()}, follow=True)
    assert 'id="totp-qr"' in accepted.content.decode()
    device = TOTPDevice.objects.get(user=eve, confirmed=False)
    assert client.post(f"{ADMIN}login/otp/", {"otp_token": current_code(device), "next": ADMIN}).status_code == 302
    assert client.get(ADMIN).status_code == 200
    assert EnrolmentCode.objects.get(user=eve).used_at is not None
    enrol = AuditEvent.objects.get(action="admin.totp.enrol", object_id=str(eve.pk))
    assert enrol.details == {"enrolment_code": True}

    # The code works once.
    TOTPDevice.objects.filter(user=eve).delete()
    again = sign_in("eve")
    assert 'id="totp-qr"' not in again.post(f"{ADMIN}login/otp/", {"enrolment_code": code}).content.decode()

    # A user who never had an authenticator still enrols at the first sign-in with the password.
    first = sign_in(bob_fresh.user.username)
    assert 'id="totp-qr"' in first.get(f"{ADMIN}login/otp/").content.decode()


def test_the_operator_issues_an_enrolment_code_when_no_superuser_can(db):
    lost = make_console_user("root2", None, superuser=True)
    lost.device.delete()
    out = io.StringIO()
    call_command("issue_enrolment_code", "root2", stdout=out)
    code = out.getvalue().split("Enrolment code for root2: ")[1].split()[0]
    event = AuditEvent.objects.get(action="admin.enrolment_code.issue", object_id=str(lost.user.pk))
    assert event.actor_kind == "operator" and code not in str(event.details)
    # Issuing again cancels the first code.
    call_command("issue_enrolment_code", "root2", stdout=io.StringIO())
    assert EnrolmentCode.objects.filter(user=lost.user, used_at__isnull=True).count() == 1


def test_cancel_at_the_code_step_really_signs_out(ada):
    client = sign_in("ada-admin")
    assert client.get(f"{ADMIN}login/otp/").status_code == 200
    response = client.post(f"{ADMIN}logout/")
    assert response.status_code == 302 and response["Location"] == f"{ADMIN}login/"
    login_page = client.get(f"{ADMIN}login/")
    assert login_page.status_code == 200 and 'name="password"' in login_page.content.decode()
    assert AuditEvent.objects.filter(action="admin.sign_out", actor_id="ada-admin").exists()


def test_a_refused_write_to_a_card_page_is_audited_as_denied_not_as_a_view(db, api, tenant):
    from tests.helpers.customers import create_customer
    from tests.helpers.payment_methods import card_number, create_payment_method

    support = make_console_user("sam-support", roles.SUPPORT)
    customer = create_customer(api)
    payment_method = create_payment_method(api, customer["id"], card_number(4))
    url = f"{ADMIN}tokens/paymentmethod/{quote(payment_method['id'])}/change/"
    assert verified_client(support).post(url, {"nick_name": "x"}).status_code == 403
    assert not AuditEvent.objects.filter(action="admin.payment_method.view").exists()
    assert url in denied_paths("sam-support")


def test_wrong_codes_count_across_password_re_entries_until_a_complete_sign_in(ada):
    good = current_code(ada.device)
    bad = "123456" if good != "123456" else "654321"

    def wrong_codes(count: int) -> Client:
        client = sign_in("ada-admin")
        for _ in range(count):
            TOTPDevice.objects.filter(pk=ada.device.pk).update(throttling_failure_count=0)
            assert client.post(f"{ADMIN}login/otp/", {"otp_token": bad}).status_code == 200
        return client

    # Four wrong codes, then a complete sign-in: the count starts again.
    client = wrong_codes(4)
    TOTPDevice.objects.filter(pk=ada.device.pk).update(throttling_failure_count=0)
    assert client.post(f"{ADMIN}login/otp/", {"otp_token": current_code(ada.device)}).status_code == 302
    # Then 4 + 4 + 1 wrong codes over three password sign-ins: nine failures, not locked yet.
    wrong_codes(4)
    wrong_codes(4)
    client = wrong_codes(1)
    # The tenth, after yet another correct password, locks the username for 30 minutes.
    client = sign_in("ada-admin")
    TOTPDevice.objects.filter(pk=ada.device.pk).update(throttling_failure_count=0)
    assert client.post(f"{ADMIN}login/otp/", {"otp_token": bad}).status_code == 429
    locked = Client().post(f"{ADMIN}login/", {"username": "ada-admin", "password": PASSWORD, "next": ADMIN})
    assert locked.status_code == 429


def test_sign_ins_failures_and_lock_outs_are_in_the_trail_without_any_password(ada):
    typed_password = "Wrong-Passw0rd-typed"
    Client().post(f"{ADMIN}login/", {"username": "ada-admin", "password": typed_password, "next": ADMIN})
    # A password typed into the username field must not end up in the trail either.
    Client().post(f"{ADMIN}login/", {"username": typed_password, "password": "x", "next": ADMIN})
    client = sign_in("ada-admin")
    good = current_code(ada.device)
    client.post(f"{ADMIN}login/otp/", {"otp_token": "123456" if good != "123456" else "654321"})
    TOTPDevice.objects.filter(pk=ada.device.pk).update(throttling_failure_count=0)
    ada.device.refresh_from_db()
    assert client.post(f"{ADMIN}login/otp/", {"otp_token": current_code(ada.device)}).status_code == 302

    failed = list(
        AuditEvent.objects.filter(action="admin.sign_in_failed").order_by("id").values_list("actor_id", "details")
    )
    assert failed == [
        ("ada-admin", {"step": "password", "username_known": True}),
        ("unknown", {"step": "password", "username_known": False}),
        ("ada-admin", {"step": "code", "username_known": True}),
    ]
    signed_in = AuditEvent.objects.get(action="admin.sign_in")
    assert signed_in.actor_id == "ada-admin" and signed_in.outcome == "success"
    everything = str(list(AuditEvent.objects.values()))
    assert typed_password not in everything and PASSWORD not in everything

    for _ in range(10):
        Client().post(f"{ADMIN}login/", {"username": "ada-admin", "password": typed_password, "next": ADMIN})
    locked = AuditEvent.objects.filter(action="admin.sign_in_failed", outcome="denied", actor_id="ada-admin")
    assert locked.exists() and locked.first().details == {"locked_out": True}
