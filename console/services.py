"""Console acts that the apps' own services do not cover. Each is audited in its transaction."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.actors import Actor
from audit.services import audit_record
from console import roles
from merchants.models import Merchant, Profile

TOTP_DEVICE_NAME = "Card Vault console"


@transaction.atomic
def merchant_rename(*, actor: Actor, merchant: Merchant, name: str) -> Merchant:
    if merchant.name != name:
        merchant.name = name
        merchant.save(update_fields=["name"])
        audit_record(
            actor=actor,
            action="merchant.update",
            object_type="merchant",
            object_id=merchant.id,
            merchant_id=merchant.id,
        )
    return merchant


@transaction.atomic
def profile_update(*, actor: Actor, profile: Profile, name: str, network_tokenization_enabled: bool) -> Profile:
    changed = {}
    if profile.name != name:
        profile.name = name
        changed["name"] = True
    if profile.network_tokenization_enabled != network_tokenization_enabled:
        profile.network_tokenization_enabled = network_tokenization_enabled
        changed["network_tokenization_enabled"] = network_tokenization_enabled
    if changed:
        profile.save(update_fields=[field for field in ("name", "network_tokenization_enabled") if field in changed])
        audit_record(
            actor=actor,
            action="profile.update",
            object_type="profile",
            object_id=profile.id,
            merchant_id=profile.merchant_id,
            details={"network_tokenization_enabled": profile.network_tokenization_enabled},
        )
    return profile


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
        actor=actor, action="admin_user.create", object_type="user", object_id=str(user.pk), details={"role": role}
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
    audit_record(actor=actor, action="admin.totp.enrol", object_type="user", object_id=str(device.user_id))
    return device
