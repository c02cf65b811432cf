"""A destination URL taken apart as the allowlist compares it: scheme, host and port, exactly."""

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from core import errors

_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")
DEFAULT_PORTS = {"https": 443, "http": 80}


@dataclass(frozen=True, slots=True)
class DestinationUrl:
    scheme: str
    host: str  # lower case, IDNA-encoded; an IPv6 address without brackets
    port: int
    target: str  # the path and query sent in the request line

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def parse_destination_url(url: str) -> DestinationUrl:
    """Take *url* apart; InvalidRequest (400) for anything that is not a plain http(s) URL."""
    if _CONTROL_OR_SPACE.search(url):
        raise errors.InvalidRequest("destination_url must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise errors.InvalidRequest("destination_url is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise errors.InvalidRequest("destination_url must be an absolute http or https URL")
    if parts.username is not None or parts.password is not None:
        raise errors.InvalidRequest("destination_url must not carry credentials")
    try:
        host = parts.hostname.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise errors.InvalidRequest("destination_url has an invalid host name") from None
    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    return DestinationUrl(scheme=scheme, host=host, port=port or DEFAULT_PORTS[scheme], target=target)
