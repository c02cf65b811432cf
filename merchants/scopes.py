"""API-key scopes. `payment_methods:reveal` and `payment_methods:proxy` are never granted by default."""

CUSTOMERS_READ = "customers:read"
CUSTOMERS_WRITE = "customers:write"
PAYMENT_METHODS_READ = "payment_methods:read"
PAYMENT_METHODS_WRITE = "payment_methods:write"
PAYMENT_METHODS_REVEAL = "payment_methods:reveal"
# Forward a request with the card substituted in, to the merchant's approved destinations only.
PAYMENT_METHODS_PROXY = "payment_methods:proxy"

ALL_SCOPES = (
    CUSTOMERS_READ,
    CUSTOMERS_WRITE,
    PAYMENT_METHODS_READ,
    PAYMENT_METHODS_WRITE,
    PAYMENT_METHODS_REVEAL,
    PAYMENT_METHODS_PROXY,
)
DEFAULT_SCOPES = tuple(scope for scope in ALL_SCOPES if scope not in (PAYMENT_METHODS_REVEAL, PAYMENT_METHODS_PROXY))
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
