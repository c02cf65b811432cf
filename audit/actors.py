"""Who acts: passed explicitly to every service that writes, so it can be audited."""

import getpass
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Actor:
    kind: str  # an AuditEvent.ActorKind value
    id: str
    merchant_id: str = ""
    request_id: str = ""
    origin: str = ""


def operator_actor() -> Actor:
    """The actor for management commands: the operating-system user who ran them."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "unknown"
    return Actor(kind="operator", id=name[:150])
