"""Global ids (`{cell}_{kind}_{uuid7 hex}`, as the upstream API spells them) and the API-key prefix."""

import re

import uuid6
from django.conf import settings

# Every API key starts with it, so secret scanners, log redaction and people recognise one.
API_KEY_PREFIX = "vlt_"

# Upstream's rule for a global id on input: 32-64 characters of [A-Za-z0-9_-], a two-character cell.
GLOBAL_ID_RE = re.compile(r"(?=[A-Za-z0-9_-]{32,64}\Z)[A-Za-z0-9]{2}_[A-Za-z0-9_-]+", re.ASCII)


def new_global_id(kind: str) -> str:
    """Return a new id for *kind* (`cus`, `pm`, …); uuid7 keeps new rows in index order."""
    return f"{settings.VAULT_CELL_ID}_{kind}_{uuid6.uuid7().hex}"


def is_global_id(value: object, kind: str | None = None) -> bool:
    """Tell whether *value* is a well-formed global id (of *kind*, when given)."""
    if not isinstance(value, str) or not GLOBAL_ID_RE.fullmatch(value):
        return False
    return kind is None or value.split("_", 2)[1] == kind
