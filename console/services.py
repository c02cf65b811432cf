"""Console acts on console users and their authenticators. Each is audited in its transaction."""

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.actions import AuditAction
from audit.actors import Actor
from audit.models import AuditEvent
from audit.services import audit_record
from console import roles
from console.models import EnrolmentCode
from core.errors import DependencyUnavailable

logger = logging.getLogger(__name__)

TOTP_DEVICE_NAME = "Card Vault console"


@dataclass(frozen=True)
class CreatedAdmin:
    user: AbstractBaseUser
    device: TOTPDevice

    def __repr__(self) -> str:
        return f"CreatedAdmin(user={self.user.get_username()!r})"


@transaction.atomic
def admin_user_create(*, actor: Actor, username: str, email: str, password: str, role: str) -> CreatedAdmin:
    """Create a staff user in *role* with an authenticator waiting to be confirmed by its first code."""
    if role not in roles.ROLE_PERMISSIONS:
        raise ValueError(f"unknown role: {role}")
    user = get_user_model().objects.create_user(username=username, email=email, password=password, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    audit_record(
        actor=actor,
        action=AuditAction.ADMIN_USER_CREATE,
        object_type="user",
        object_id=str(user.pk),
        details={"role": role},
    )
    return CreatedAdmin(user=user, device=device)


def totp_device_for_enrolment(*, user: AbstractBaseUser) -> TOTPDevice:
    """Return the user's unconfirmed authenticator, creating one: the secret the enrolment QR shows."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    return device or TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)


@transaction.atomic
def totp_device_confirm(*, actor: Actor, device: TOTPDevice, enrolment_code: EnrolmentCode | None = None) -> TOTPDevice:
    """Confirm an authenticator by its first code; an enrolment code that allowed it is used up."""
    if enrolment_code is not None:
        used = EnrolmentCode.objects.filter(pk=enrolment_code.pk, used_at__isnull=True).update(used_at=timezone.now())
        if not used:
            raise ValueError("the enrolment code was used meanwhile")
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    audit_record(
        actor=actor,
        action=AuditAction.ADMIN_TOTP_ENROL,
        object_type="user",
        object_id=str(device.user_id),
        details={"enrolment_code": enrolment_code is not None},
    )
    return device


# --- Console users: every change to an account is audited with what changed ---------------------


def user_created(*, actor: Actor, user: AbstractBaseUser, role: str | None) -> None:
    audit_record(
        actor=actor,
        action=AuditAction.ADMIN_USER_CREATE,
        object_type="user",
        object_id=str(user.pk),
        details={"username": user.get_username(), "role": role},
    )


def user_changed(*, actor: Actor, user: AbstractBaseUser, fields: list[str], roles_before: list[str]) -> None:
    """Audit a change of *user*: the fields that changed, and the roles before and after."""
    roles_after = sorted(user.groups.values_list("name", flat=True))  # type: ignore[attr-defined]
    details: dict = {"username": user.get_username(), "fields": sorted(fields)}
    if roles_after != roles_before:
        details["roles"] = {"before": roles_before, "after": roles_after}
    audit_record(
        actor=actor, action=AuditAction.ADMIN_USER_CHANGE, object_type="user", object_id=str(user.pk), details=details
    )


def password_changed(*, actor: Actor, user: AbstractBaseUser) -> None:
    audit_record(
        actor=actor,
        action=AuditAction.ADMIN_USER_PASSWORD,
        object_type="user",
        object_id=str(user.pk),
        details={"username": user.get_username()},
    )


def user_deleted(*, actor: Actor, user_id: int, username: str) -> None:
    audit_record(
        actor=actor,
        action=AuditAction.ADMIN_USER_DELETE,
        object_type="user",
        object_id=str(user_id),
        details={"username": username},
    )


def group_permissions(group: Group) -> list[str]:
    """A role's permissions as `app_label.codename`, sorted: what its audit rows compare."""
    return sorted(
        f"{app_label}.{codename}"
        for app_label, codename in group.permissions.values_list("content_type__app_label", "codename")
    )


def group_saved(*, actor: Actor, group: Group, created: bool, name_before: str, permissions_before: list[str]) -> None:
    """Audit a role created or changed: its name and the permissions gained and lost."""
    after = group_permissions(group)
    details: dict = {"name": group.name}
    if name_before and name_before != group.name:
        details["name_before"] = name_before
    details["permissions_added"] = sorted(set(after) - set(permissions_before))
    details["permissions_removed"] = sorted(set(permissions_before) - set(after))
    if not created and not (details["permissions_added"] or details["permissions_removed"] or "name_before" in details):
        return
    audit_record(
        actor=actor,
        action=AuditAction.ADMIN_GROUP_CREATE if created else AuditAction.ADMIN_GROUP_CHANGE,
        object_type="group",
        object_id=str(group.pk),
        details=details,
    )


def group_deleted(*, actor: Actor, group_id: int, name: str, permissions: list[str], members: list[str]) -> None:
    audit_record(
        actor=actor,
        action=AuditAction.ADMIN_GROUP_DELETE,
        object_type="group",
        object_id=str(group_id),
        details={"name": name, "permissions": permissions, "members": members},
    )


@transaction.atomic
def totp_device_remove(*, actor: Actor, device: TOTPDevice) -> None:
    """Remove an authenticator; its owner then needs an enrolment code from a superuser to add one."""
    user = device.user
    device.delete()
    audit_record(
        actor=actor,
        action=AuditAction.ADMIN_TOTP_REMOVE,
        object_type="user",
        object_id=str(user.pk),
        details={"username": user.get_username()},
    )


def record_sign_in_event(
    *, actor: Actor, failed: bool, outcome: str | None = None, details: dict | None = None
) -> None:
    """A sign-in (or a failed or refused attempt); a failing trail is logged, the sign-in page still answers."""
    action = AuditAction.ADMIN_SIGN_IN_FAILED if failed else AuditAction.ADMIN_SIGN_IN
    try:
        with transaction.atomic():
            audit_record(
                actor=actor,
                action=action,
                object_type="user",
                outcome=outcome or (AuditEvent.Outcome.FAILURE if failed else AuditEvent.Outcome.SUCCESS),
                details=details or {},
            )
    except DependencyUnavailable:
        logger.warning("a console sign-in event could not be audited")


@transaction.atomic
def record_sign_out(*, actor: Actor, user: AbstractBaseUser) -> None:
    audit_record(actor=actor, action=AuditAction.ADMIN_SIGN_OUT, object_type="user", object_id=str(user.pk))


def denied(*, actor: Actor, method: str, path: str, reason: str = "") -> None:
    """Record a console page or act refused to the signed-in user; a failing trail does not hide the 403."""
    details = {"method": method, "path": path[:500]}
    if reason:
        details["reason"] = reason[:200]
    try:
        with transaction.atomic():
            audit_record(
                actor=actor,
                action=AuditAction.ADMIN_DENIED,
                object_type="console",
                object_id=path[:64],
                outcome=AuditEvent.Outcome.DENIED,
                details=details,
            )
    except DependencyUnavailable:
        logger.warning("a refused console request could not be audited")


# --- Enrolment codes -----------------------------------------------------------------------------

ENROLMENT_CODE_LIFETIME = timedelta(hours=24)
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").replace(" ", "").upper().encode()).hexdigest()


def enrolment_code_required(user: AbstractBaseUser) -> bool:
    """Whether enrolling an authenticator needs a code: once the user has had one, always (the
    password alone must not let whoever knows it enrol their own). The append-only trail says so."""
    return AuditEvent.objects.filter(
        action__in=[AuditAction.ADMIN_TOTP_ENROL, AuditAction.ADMIN_TOTP_REMOVE],
        object_type="user",
        object_id=str(user.pk),
    ).exists()


@transaction.atomic
def enrolment_code_issue(*, actor: Actor, user: AbstractBaseUser) -> str:
    """A new one-time code for *user* (earlier unused ones stop working); shown once, never stored."""
    code = "-".join("".join(secrets.choice(_CODE_ALPHABET) for _ in range(4)) for _ in range(4))
    EnrolmentCode.objects.filter(user_id=user.pk, used_at__isnull=True).update(used_at=timezone.now())
    EnrolmentCode.objects.create(
        user_id=user.pk,
        code_hash=_code_hash(code),
        issued_by=f"{actor.kind}:{actor.id}",
        expires_at=timezone.now() + ENROLMENT_CODE_LIFETIME,
    )
    audit_record(
        actor=actor,
        action=AuditAction.ADMIN_ENROLMENT_CODE_ISSUE,
        object_type="user",
        object_id=str(user.pk),
        details={"username": user.get_username(), "valid_hours": 24},
    )
    return code


def enrolment_code_find(*, user: AbstractBaseUser, code: str) -> EnrolmentCode | None:
    """The user's unused, unexpired code that *code* is, or None."""
    return EnrolmentCode.objects.filter(
        user_id=user.pk, code_hash=_code_hash(code), used_at__isnull=True, expires_at__gt=timezone.now()
    ).first()
