"""Reads of the proxy allowlist, always for one merchant."""

from merchants.models import Merchant
from proxy.models import ProxyDestination


def destination_active(*, merchant: Merchant, scheme: str, host: str, port: int) -> ProxyDestination | None:
    """The merchant's approved destination with exactly this scheme, host and port, or None."""
    return (
        ProxyDestination.objects.for_merchant(merchant)
        .filter(scheme=scheme, host=host, port=port, state=ProxyDestination.State.ACTIVE)
        .first()
    )


def destinations_of(*, merchant: Merchant) -> list[ProxyDestination]:
    return list(ProxyDestination.objects.for_merchant(merchant).order_by("host", "port", "added_at"))


def destination_get(*, merchant: Merchant, destination_id: int) -> ProxyDestination | None:
    return ProxyDestination.objects.for_merchant(merchant).filter(pk=destination_id).first()
