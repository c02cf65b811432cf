"""Console sign-in events into the vault's audit trail: failures (never what was typed as the
password) and lock-outs. Successful sign-ins are recorded where the second factor is verified."""

import logging

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

from audit.actors import Actor
from audit.models import AuditEvent
from console.services import record_sign_in_event
from core.client_address import client_address

logger = logging.getLogger(__name__)


def _known(username: str) -> str:
    """The username when such a user exists; otherwise "unknown", since people type passwords into
    the username field, and the trail must never keep a password."""
    if username and get_user_model().objects.filter(username=username).exists():
        return username[:150]
    return "unknown"


def _actor(request, username: str) -> Actor:
    origin = client_address(request) if request is not None else ""
    return Actor(kind="admin", id=_known(username), request_id=getattr(request, "request_id", ""), origin=origin)


@receiver(user_login_failed)
def sign_in_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username") or "")
    step = "code" if sender == "console.views" else "password"
    record_sign_in_event(
        actor=_actor(request, username),
        failed=True,
        details={"step": step, "username_known": _known(username) != "unknown"},
    )


@receiver(user_locked_out)
def locked_out(sender, request=None, username=None, **kwargs):
    record_sign_in_event(
        actor=_actor(request, str(username or "")),
        failed=True,
        outcome=AuditEvent.Outcome.DENIED,
        details={"locked_out": True},
    )
