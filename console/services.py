"""Console acts on console users and their authenticators. Each is audited in its transaction."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_record
from console import roles

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
def totp_device_confirm(*, actor: Actor, device: TOTPDevice) -> TOTPDevice:
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    audit_record(actor=actor, action=AuditAction.ADMIN_TOTP_ENROL, object_type="user", object_id=str(device.user_id))
    return device
