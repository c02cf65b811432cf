"""Where the proxy may connect: a destination's host is resolved once, every address it answers is
judged, and the connection goes to the address that was judged (proxy/outbound.py), never to a
second lookup that a rebinding DNS server could answer differently.

Refused: loopback, private, shared (carrier-grade NAT), link-local, multicast, unspecified, reserved
and documentation ranges, and the cloud metadata addresses, unless VAULT_PROXY_ALLOW_ADDRESSES lists
a network holding the address (the tests list 127.0.0.1). IPv4-mapped IPv6 addresses are judged as
the IPv4 address they carry.
"""

import ipaddress
import socket

import dns.exception
import dns.resolver
from django.conf import settings

from core.client_address import parse_networks

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Metadata services of the clouds: every one is also non-global, named here so that the refusal says what it is.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "168.63.129.16")
)


class AddressRefused(Exception):
    """The destination resolves to an address the proxy must not reach; the message names its class."""


class ResolutionFailed(Exception):
    """The destination's host has no address, or the resolver did not answer."""


def refusal_reason(address: IPAddress) -> str | None:
    """Why the proxy must not connect to *address*, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address):
        # IPv4 addresses carried in IPv6 (mapped, NAT64, 6to4) are judged as the IPv4 address they reach.
        embedded = address.ipv4_mapped or address.sixtofour or _nat64(address)
        if embedded is not None:
            address = embedded
    if any(address in network for network in _allowed_networks()):
        return None
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    for reason, refused in (
        ("an unspecified address", address.is_unspecified),
        ("a loopback address", address.is_loopback),
        ("a link-local address", address.is_link_local),
        ("a multicast address", address.is_multicast),
        ("a private address", address.is_private),
    ):
        if refused:
            return reason
    if not address.is_global:
        return "a reserved address"
    return None


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Local-use NAT64 places the IPv4 address by its operator's prefix length: refused outright
# (judged as 0.0.0.0, unspecified) rather than guessed at.
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")


def _nat64(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _LOCAL_NAT64:
        return ipaddress.IPv4Address(0)
    return None


def resolve_checked(host: str, port: int) -> IPAddress:
    """The one address the proxy will connect to for *host*: AddressRefused if any address the host
    resolves to is refused (a host answering one public and one private address is not trusted)."""
    addresses = _resolve(host, port)
    for address in addresses:
        reason = refusal_reason(address)
        if reason is not None:
            raise AddressRefused(f"the destination resolves to {reason}")
    return addresses[0]


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    if settings.VAULT_PROXY_NAMESERVERS:
        return _resolve_with_nameservers(host)
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise ResolutionFailed("the destination's host does not resolve") from None
    # getaddrinfo may add an IPv6 scope ("fe80::1%eth0"); the scope is not part of the address judged.
    addresses = [ipaddress.ip_address(str(answer[4][0]).split("%", 1)[0]) for answer in answers]
    if not addresses:
        raise ResolutionFailed("the destination's host does not resolve")
    return list(dict.fromkeys(addresses))


def _resolve_with_nameservers(host: str) -> list[IPAddress]:
    """Ask the configured nameservers (VAULT_PROXY_NAMESERVERS, `address` or `address:port`) for A and AAAA."""
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.nameserver_ports = _nameservers()
    resolver.lifetime = settings.VAULT_PROXY_CONNECT_TIMEOUT
    addresses: list[IPAddress] = []
    for record_type in ("A", "AAAA"):
        try:
            answer = resolver.resolve(host, record_type, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            continue
        except dns.exception.DNSException:
            raise ResolutionFailed("the resolver did not answer for the destination's host") from None
        addresses += [ipaddress.ip_address(record.address) for record in answer]
    if not addresses:
        raise ResolutionFailed("the destination's host does not resolve")
    return list(dict.fromkeys(addresses))


def _nameservers() -> tuple[list[str], dict[str, int]]:
    servers, ports = [], {}
    for entry in settings.VAULT_PROXY_NAMESERVERS:
        host, _, port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "53")
        servers.append(host)
        ports[host] = int(port)
    return servers, ports


def _allowed_networks() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return parse_networks("VAULT_PROXY_ALLOW_ADDRESSES", settings.VAULT_PROXY_ALLOW_ADDRESSES)
