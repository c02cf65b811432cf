"""The client's address, seen through the proxies the vault trusts (VAULT_TRUSTED_PROXIES).

A request from a trusted proxy carries the client's address in X-Forwarded-For, each proxy appending
the address it saw. Only the entries added by trusted proxies can be believed: the answer is the
rightmost entry that is not a trusted proxy. Anything a client put further left is its own claim and
ignored. A request from any other peer is answered with the peer's own address, whatever it sent.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

MAX_LENGTH = 64  # what the audit trail keeps


def parse_networks(name: str, values: list[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """The addresses and CIDR ranges of setting *name*; ImproperlyConfigured naming a bad one."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {value.strip()!r} is not an address or a CIDR range") from None
    return tuple(networks)


def parse_trusted_proxies(values: list[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return parse_networks("VAULT_TRUSTED_PROXIES", values)


@lru_cache(maxsize=1)
def _trusted(setting: tuple[str, ...]) -> tuple:
    return parse_trusted_proxies(list(setting))


def _is_trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _trusted(tuple(settings.VAULT_TRUSTED_PROXIES)))


def client_address(request: HttpRequest) -> str:
    peer = request.META.get("REMOTE_ADDR", "")
    if not _is_trusted(peer):
        return peer[:MAX_LENGTH]
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed(hops):
        if _is_trusted(hop):
            continue
        try:
            return str(ipaddress.ip_address(hop))
        except ValueError:
            break  # a malformed entry: nothing left of it can be believed
    return peer[:MAX_LENGTH]


def axes_client_address(request: HttpRequest) -> str:
    """For django-axes (AXES_CLIENT_IP_CALLABLE): lock-outs and their records see the same client."""
    return client_address(request)
