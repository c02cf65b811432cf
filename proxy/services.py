"""The proxy allowlist's life: add (pending until a second person approves), approve, revoke.
Every change is audited in the same transaction."""

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.models import AuditEvent
from audit.services import audit_record
from merchants.models import Merchant
from merchants.services import actor_label, second_person_refusal
from proxy.models import ProxyDestination
from proxy.urls import parse_destination_url


class DestinationRefused(Exception):
    """An allowlist change that may not be made; the message says why."""


def destination_add(
    *, actor: Actor, merchant: Merchant, url: str, ca_bundle: str = "", single_control: bool = False
) -> ProxyDestination:
    """Allow *merchant*'s proxy calls to the scheme, host and port of *url* once someone other than
    *actor* approves (*single_control*: at once, for an operator on the host; the audit row says so)."""
    parsed = parse_destination_url(url)
    if parsed.scheme == "http" and not settings.DEVELOPMENT:
        raise DestinationRefused("only https destinations may be allowed outside development")
    if ca_bundle and "-----BEGIN CERTIFICATE-----" not in ca_bundle:
        raise DestinationRefused("the CA bundle must hold PEM certificates")
    now = timezone.now()
    try:
        with transaction.atomic():
            destination = ProxyDestination.objects.create(
                merchant=merchant, scheme=parsed.scheme, host=parsed.host, port=parsed.port, ca_bundle=ca_bundle,
                state=ProxyDestination.State.ACTIVE if single_control else ProxyDestination.State.PENDING,
                added_by=actor_label(actor), added_at=now,
                approved_by=actor_label(actor) if single_control else "", approved_at=now if single_control else None,
            )  # fmt: skip
            _audit(actor, AuditAction.PROXY_DESTINATION_ADD, destination,
                   details={"single_control" if single_control else "pending_approval": True,
                            "ca_bundle": bool(ca_bundle)})  # fmt: skip
    except IntegrityError:
        raise DestinationRefused(f"{parsed.origin} is already on this merchant's allowlist") from None
    return destination


def destination_approve(*, actor: Actor, destination: ProxyDestination) -> ProxyDestination:
    """Make a pending destination usable; the person who added it cannot approve it (refusal audited)."""
    with transaction.atomic():
        destination = (
            ProxyDestination.objects.for_merchant(destination.merchant_id).select_for_update().get(pk=destination.pk)
        )
        refusal = (
            f"the destination is {destination.get_state_display().lower()}, not waiting for approval"
            if destination.state != ProxyDestination.State.PENDING
            else second_person_refusal(
                actor, destination.added_by, act="added a destination", requester="the person who added it"
            )
        )
        if refusal is None:
            destination.state = ProxyDestination.State.ACTIVE
            destination.approved_by, destination.approved_at = actor_label(actor), timezone.now()
            destination.save(update_fields=["state", "approved_by", "approved_at"])
            _audit(
                actor, AuditAction.PROXY_DESTINATION_APPROVE, destination, details={"added_by": destination.added_by}
            )
            return destination
        _audit(actor, AuditAction.PROXY_DESTINATION_APPROVE, destination, outcome=AuditEvent.Outcome.DENIED,
               details={"reason": refusal})  # fmt: skip
    raise DestinationRefused(refusal)


def destination_revoke(*, actor: Actor, destination: ProxyDestination) -> ProxyDestination:
    """Take a destination off the allowlist (pending or active); the next proxy call to it is refused."""
    with transaction.atomic():
        destination = (
            ProxyDestination.objects.for_merchant(destination.merchant_id).select_for_update().get(pk=destination.pk)
        )
        if destination.state == ProxyDestination.State.REVOKED:
            raise DestinationRefused("the destination is already revoked")
        destination.state, destination.revoked_at = ProxyDestination.State.REVOKED, timezone.now()
        destination.save(update_fields=["state", "revoked_at"])
        _audit(actor, AuditAction.PROXY_DESTINATION_REVOKE, destination)
    return destination


def _audit(
    actor: Actor,
    action: AuditAction,
    destination: ProxyDestination,
    *,
    outcome: str = AuditEvent.Outcome.SUCCESS,
    details: dict | None = None,
) -> None:
    audit_record(
        actor=actor,
        action=action,
        object_type="proxy_destination",
        object_id=str(destination.pk),
        merchant_id=destination.merchant_id,
        outcome=outcome,
        details={"destination": destination.origin, **(details or {})},
    )
