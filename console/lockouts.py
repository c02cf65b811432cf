"""Console accounts locked out by failed sign-ins (django-axes counts them), and lifting a lock-out.

An account is locked while its failures within the cool-off reach `AXES_FAILURE_LIMIT`. Only
usernames of real accounts are listed: what someone typed as a username may be a password.
"""

from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from axes.utils import reset
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_record


def locked_attempts(*, viewer: AbstractBaseUser) -> QuerySet[AccessAttempt]:
    """The recorded attempts of accounts locked now. A superuser's lock-out is lifted by a superuser
    only, and nobody lifts their own, so *viewer* sees neither."""
    cool_off = get_cool_off()
    recent = AccessAttempt.objects.all()
    if cool_off is not None:
        recent = recent.filter(attempt_time__gte=timezone.now() - cool_off)
    accounts = get_user_model().objects.exclude(pk=viewer.pk)
    if not viewer.is_superuser:  # type: ignore[attr-defined]
        accounts = accounts.exclude(is_superuser=True)
    locked = (
        recent.filter(username__in=accounts.values("username"))
        .values("username")
        .annotate(failures=Sum("failures_since_start"))
        .filter(failures__gte=settings.AXES_FAILURE_LIMIT)
        .values("username")
    )
    return recent.filter(username__in=locked)


@transaction.atomic
def sign_in_unlock(*, actor: Actor, usernames: list[str], reason: str) -> list[str]:
    """Lift the lock-out of each account (its failed attempts are forgotten), audited with the reason."""
    reason = reason.strip()
    if not reason:
        raise ValueError("a reason is required")
    users = {user.get_username(): user for user in get_user_model().objects.filter(username__in=usernames)}
    unlocked = []
    for username in sorted(users):
        cleared = reset(username=username)
        audit_record(
            actor=actor,
            action=AuditAction.ADMIN_UNLOCK,
            object_type="user",
            object_id=str(users[username].pk),
            details={"username": username, "reason": reason[:500], "attempts_cleared": cleared},
        )
        unlocked.append(username)
    return unlocked
