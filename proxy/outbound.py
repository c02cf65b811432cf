"""The proxy's outbound HTTP client, on urllib3: one request to one address already judged by
proxy/addresses.py, with the destination's name used only for TLS (SNI and certificate check) and
the Host header. No redirects, no retries, connect and read timeouts plus an overall deadline, and a
response read no further than its size limit. Nothing else in the proxy opens a socket.

Connections are kept alive between calls, in one pool per checked address, port, destination name
and CA bundle: a pooled connection goes to an address this call checked (the address is part of the
key), and its certificate was verified for this name under this bundle. A process keeps at most
MAX_POOLS pools, the least recently used closed first.
"""

import ssl
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import urllib3
from django.conf import settings
from urllib3.exceptions import HTTPError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from proxy.addresses import IPAddress

# Headers that describe one connection, not the message: never forwarded in either direction.
HOP_BY_HOP = frozenset(
    {
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
        "te", "trailer", "trailers", "transfer-encoding", "upgrade",
    }
)  # fmt: skip
_CHUNK = 64 * 1024


class DestinationUnreachable(Exception):
    """The destination could not be reached, refused TLS or broke the exchange; the message names what failed."""


class DestinationTimeout(Exception):
    pass


class ResponseTooLarge(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Destination:
    scheme: str
    host: str
    port: int
    ca_bundle: str = ""

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"


@dataclass(frozen=True, slots=True)
class OutboundResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


MAX_POOLS = 64
_CONNECTIONS_PER_POOL = 4
_pools: "OrderedDict[tuple, urllib3.HTTPConnectionPool]" = OrderedDict()
_pools_lock = threading.Lock()


def send(
    destination: Destination,
    address: IPAddress,
    *,
    method: str,
    target: str,
    headers: dict[str, str],
    body: bytes | None,
) -> OutboundResponse:
    """Send one request to *address* on behalf of *destination*; answer what came back."""
    pool = _pool(destination, address)
    sent = urllib3.HTTPHeaderDict(headers)
    sent["Host"] = destination.host_header
    timeout = urllib3.Timeout(connect=settings.VAULT_PROXY_CONNECT_TIMEOUT, read=settings.VAULT_PROXY_READ_TIMEOUT)
    deadline = time.monotonic() + settings.VAULT_PROXY_TOTAL_TIMEOUT
    response = None
    complete = False
    try:
        response = pool.urlopen(
            method, target, body=body, headers=sent, redirect=False, retries=False, timeout=timeout,
            preload_content=False, assert_same_host=False,
        )  # fmt: skip
        content = _read_bounded(response, deadline)
        complete = True
        return OutboundResponse(status=response.status, headers=list(response.headers.items()), body=content)
    except Urllib3Timeout:
        raise DestinationTimeout("the destination did not answer in time") from None
    except HTTPError as exc:
        raise DestinationUnreachable(_reason(exc)) from None
    finally:
        if response is not None:
            if complete:
                response.release_conn()  # read to the end: the connection may serve the next call
            else:
                response.close()  # cut short: never hand a half-read connection to another call
                response.release_conn()


def _pool(destination: Destination, address: IPAddress) -> urllib3.HTTPConnectionPool:
    key = (destination.scheme, str(address), destination.port, destination.host, destination.ca_bundle)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is not None:
            _pools.move_to_end(key)
            return pool
        pool = _new_pool(destination, address)
        _pools[key] = pool
        while len(_pools) > MAX_POOLS:
            # Forgotten, not closed: another thread may be using it; its idle sockets go with it.
            _pools.popitem(last=False)
        return pool


def _new_pool(destination: Destination, address: IPAddress) -> urllib3.HTTPConnectionPool:
    host, port = str(address), destination.port
    common = {"retries": False, "maxsize": _CONNECTIONS_PER_POOL, "block": False}
    if destination.scheme == "http":
        return urllib3.HTTPConnectionPool(host, port, **common)  # type: ignore[arg-type]
    context = ssl.create_default_context(cadata=destination.ca_bundle or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # Connect to the checked address, but verify the certificate against the destination's name.
    return urllib3.HTTPSConnectionPool(
        host,
        port,
        ssl_context=context,
        server_hostname=destination.host,
        **common,  # type: ignore[arg-type]
    )


def close_pools() -> None:
    """Close every kept connection (tests, and a destination revoked or changed)."""
    with _pools_lock:
        while _pools:
            _pools.popitem()[1].close()


def _read_bounded(response: urllib3.BaseHTTPResponse, deadline: float) -> bytes:
    limit = settings.VAULT_PROXY_MAX_RESPONSE_BYTES
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ResponseTooLarge(f"the destination's response is larger than {limit} bytes")
    content = bytearray()
    while chunk := response.read(_CHUNK, decode_content=True):
        content += chunk
        if len(content) > limit:
            raise ResponseTooLarge(f"the destination's response is larger than {limit} bytes")
        if time.monotonic() > deadline:  # a destination trickling bytes must not hold a worker
            raise DestinationTimeout("the destination did not answer in time")
    return bytes(content)


def _reason(exc: HTTPError) -> str:
    if isinstance(exc, urllib3.exceptions.SSLError):
        return "the destination's TLS certificate could not be verified"
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return "the destination refused the connection"
    return "the destination broke off the exchange"
