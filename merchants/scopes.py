"""API-key scopes. `payment_methods:reveal` is never granted by default."""

CUSTOMERS_READ = "customers:read"
CUSTOMERS_WRITE = "customers:write"
PAYMENT_METHODS_READ = "payment_methods:read"
PAYMENT_METHODS_WRITE = "payment_methods:write"
PAYMENT_METHODS_REVEAL = "payment_methods:reveal"

ALL_SCOPES = (
    CUSTOMERS_READ,
    CUSTOMERS_WRITE,
    PAYMENT_METHODS_READ,
    PAYMENT_METHODS_WRITE,
    PAYMENT_METHODS_REVEAL,
)
DEFAULT_SCOPES = tuple(scope for scope in ALL_SCOPES if scope != PAYMENT_METHODS_REVEAL)
# Scopes that return card or token numbers: a key holding one is usable only once a second person
# has approved it (dual control).
DUAL_CONTROL_SCOPES = frozenset({PAYMENT_METHODS_REVEAL})


def needs_second_approval(scopes: list[str] | tuple[str, ...]) -> bool:
    return not DUAL_CONTROL_SCOPES.isdisjoint(scopes)


def normalise_scopes(scopes: list[str] | tuple[str, ...]) -> list[str]:
    """Return *scopes* de-duplicated in canonical order; raise ValueError naming an unknown one."""
    unknown = sorted(set(scopes) - set(ALL_SCOPES))
    if unknown:
        raise ValueError(f"unknown scope(s): {', '.join(unknown)}; known: {', '.join(ALL_SCOPES)}")
    return [scope for scope in ALL_SCOPES if scope in scopes]
