"""The token-service provider interface and its HTTP client.

The vault asks a token service for network tokens through `TokenService`. `HttpTokenService` speaks
the JSON protocol in tokens/network/protocol.py to a token-requestor gateway or to the bundled
simulator. The card number leaves the vault here, to the token service, as it must.
"""

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol
from urllib.parse import quote

import urllib3
from django.conf import settings
from django.views.decorators.debug import sensitive_variables
from requests.utils import get_auth_from_url, get_environ_proxies, prepend_scheme_if_needed, select_proxy
from urllib3.exceptions import HTTPError, NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util.retry import Retry

from core.card_numbers import luhn_valid
from core.metrics import TOKEN_SERVICE_CALLS
from tokens import cards
from tokens.crypto import CardSecret


class TokenServiceError(Exception):
    """The token service failed or refused; the message never holds card or token numbers."""


class TokenNotFound(TokenServiceError):
    pass


class TokenNotActive(TokenServiceError):
    """The token service refuses the act because the token is suspended, expired or deleted (409)."""


@dataclass(frozen=True, slots=True)
class TokenState:
    token_ref: str
    status: str
    token_exp_month: str
    token_exp_year: str
    token_last4: str
    token_isin: str
    par: str | None
    network: str | None


@dataclass(frozen=True, slots=True)
class ProvisionedToken:
    """A new token. Its number is card data: the repr masks it."""

    state: TokenState
    token_number: str

    @property
    def isin(self) -> str:
        return cards.isin(self.token_number)

    def sealable_with(self, card: CardSecret) -> CardSecret:
        """The card with this token's number beside it, ready to be sealed together."""
        return card.with_network_token(self.token_number)

    @property
    def last4(self) -> str:
        return cards.last4(self.token_number)

    def __repr__(self) -> str:
        return f"ProvisionedToken(ref={self.state.token_ref!r}, number={cards.mask(self.token_number)!r})"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class Cryptogram:
    cryptogram: str
    eci: str | None

    def __repr__(self) -> str:
        return "Cryptogram(***)"


class TokenService(Protocol):
    def provision(self, card: CardSecret, *, exp_month: str, exp_year: str, reference: str) -> ProvisionedToken: ...

    def status(self, token_ref: str) -> TokenState: ...

    def list_tokens(self, *, after: str, limit: int) -> list[dict[str, Any]]: ...

    def cryptogram(self, token_ref: str) -> Cryptogram: ...

    def suspend(self, token_ref: str) -> TokenState: ...

    def resume(self, token_ref: str) -> TokenState: ...

    def delete(self, token_ref: str) -> TokenState: ...


def _state(data: Any) -> TokenState:
    try:
        return TokenState(
            token_ref=str(data["token_ref"]),
            status=str(data["status"]),
            token_exp_month=str(data["token_exp_month"]),
            token_exp_year=str(data["token_exp_year"]),
            token_last4=str(data["token_last4"]),
            token_isin=str(data.get("token_isin") or ""),
            par=data.get("par"),
            network=data.get("network"),
        )
    except (KeyError, TypeError) as exc:
        raise TokenServiceError("token service answered an unexpected shape") from exc


class HttpTokenService:
    """Bearer-authenticated JSON client with timeouts; idempotent calls retry with backoff, creates do not.

    On urllib3, as the proxy's client: one pool of kept-alive connections per client. The proxy
    variables are read once, when the client is made (`_pool_for`); a proxy setting urllib3 cannot
    use makes every call fail as an unreachable service would, never a 500. Certificates are
    checked against the system's CA store, or OpenSSL's SSL_CERT_FILE. VAULT_NT_TIMEOUT bounds a
    call as a whole (connect, send and wait together), not each step.
    """

    def __init__(self, *, base_url: str, api_key: str, timeout: float, retries: int) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
        retry = Retry(
            total=retries,
            backoff_factor=0.1,
            status_forcelist=(502, 503, 504),
            allowed_methods=frozenset({"GET", "DELETE"}),
            raise_on_status=False,
            redirect=False,
        )
        # As many kept-alive connections as a gthread worker may want at once; past that, one more
        # is opened and closed rather than a thread made to wait.
        options = {"headers": headers, "retries": retry, "timeout": urllib3.Timeout(timeout), "maxsize": 10}
        self.pool: urllib3.PoolManager | None = None
        self.unusable = ""
        try:
            self.pool = _pool_for(self.base_url, options)
        except (ValueError, HTTPError, AssertionError) as exc:  # a proxy setting urllib3 cannot use
            self.unusable = f"token service proxy unusable: {type(exc).__name__}"

    @sensitive_variables("json")
    def _call(self, operation: str, method: str, path: str, json: dict | None = None) -> Any:
        outcome = "error"
        try:
            if self.pool is None:
                outcome = "unreachable"
                raise TokenServiceError(self.unusable)
            response = self.pool.request(method, f"{self.base_url}{path}", json=json)
            outcome = "ok" if response.status < 300 else str(response.status)
        except HTTPError as exc:
            outcome = "timeout" if _timed_out(exc) else "unreachable"
            raise TokenServiceError(f"token service unreachable: {type(exc).__name__}") from None
        finally:
            TOKEN_SERVICE_CALLS.labels(operation, outcome).inc()
        if response.status == 404:
            raise TokenNotFound("token service does not know this token")
        if response.status == 409:
            raise TokenNotActive("token service says the token is not active")
        if response.status >= 300:
            raise TokenServiceError(f"token service answered {response.status}")
        try:
            return response.json()
        except ValueError:  # UnicodeDecodeError and json's JSONDecodeError are ValueErrors
            raise TokenServiceError("token service answered something that is not JSON") from None

    @sensitive_variables("card", "body", "data", "number")
    def provision(self, card: CardSecret, *, exp_month: str, exp_year: str, reference: str) -> ProvisionedToken:
        body = {
            "card_number": card.number,
            "exp_month": exp_month,
            "exp_year": exp_year,
            "requestor_reference": reference,
        }
        data = self._call("provision", "POST", "/v1/tokens", body)
        number = data.get("token_number") if isinstance(data, dict) else None
        if not isinstance(number, str) or not luhn_valid(number) or number == card.number:
            raise TokenServiceError("token service answered an unusable token number")
        return ProvisionedToken(state=_state(data), token_number=number)

    def status(self, token_ref: str) -> TokenState:
        return _state(self._call("status", "GET", f"/v1/tokens/{token_ref}"))

    def list_tokens(self, *, after: str, limit: int) -> list[dict[str, Any]]:
        """A page of the tokens the service holds for this requestor: refs, statuses, references."""
        data = self._call("list", "GET", f"/v1/tokens?after={quote(after)}&limit={int(limit)}")
        tokens = data.get("tokens") if isinstance(data, dict) else None
        if not isinstance(tokens, list) or not all(isinstance(t, dict) and "token_ref" in t for t in tokens):
            raise TokenServiceError("token service answered an unexpected shape")
        return tokens

    def cryptogram(self, token_ref: str) -> Cryptogram:
        data = self._call("cryptogram", "POST", f"/v1/tokens/{token_ref}/cryptograms")
        if not isinstance(data, dict) or not isinstance(data.get("cryptogram"), str):
            raise TokenServiceError("token service answered an unexpected shape")
        return Cryptogram(cryptogram=data["cryptogram"], eci=data.get("eci"))

    def suspend(self, token_ref: str) -> TokenState:
        return _state(self._call("suspend", "POST", f"/v1/tokens/{token_ref}/suspend"))

    def resume(self, token_ref: str) -> TokenState:
        return _state(self._call("resume", "POST", f"/v1/tokens/{token_ref}/resume"))

    def delete(self, token_ref: str) -> TokenState:
        return _state(self._call("delete", "DELETE", f"/v1/tokens/{token_ref}"))


def _timed_out(exc: HTTPError) -> bool:
    # With its retries spent urllib3 raises MaxRetryError, the cause in its reason; a refused
    # connection (NewConnectionError) is a ConnectTimeoutError to urllib3, not a timeout.
    cause = getattr(exc, "reason", None) or exc
    return isinstance(cause, Urllib3Timeout) and not isinstance(cause, NewConnectionError)


def _pool_for(base_url: str, options: dict[str, Any]) -> urllib3.PoolManager:
    """Direct connections, or through the proxy the environment names for *base_url*.

    The environment is read as requests reads it, once: HTTPS_PROXY, HTTP_PROXY or ALL_PROXY (either
    case; a proxy without a scheme is an http:// one), credentials in the proxy's URL sent as
    Proxy-Authorization, NO_PROXY with host names, domains and address ranges.
    """
    proxy = select_proxy(base_url, get_environ_proxies(base_url))
    if not proxy:
        return urllib3.PoolManager(**options)
    proxy = prepend_scheme_if_needed(proxy, "http")
    username, password = get_auth_from_url(proxy)
    credentials = urllib3.make_headers(proxy_basic_auth=f"{username}:{password}") if username else None
    return urllib3.ProxyManager(proxy, proxy_headers=credentials, **options)


def token_service(*, retries: int | None = None) -> TokenService | None:
    """The configured token service, or None when network tokenization is not configured.

    API requests ask with retries=0: one attempt, so none waits longer than VAULT_NT_TIMEOUT on it.
    The worker's sweeps use VAULT_NT_RETRIES.
    """
    if not settings.VAULT_NT_URL:
        return None
    return _client(
        settings.VAULT_NT_URL,
        settings.VAULT_NT_API_KEY,
        settings.VAULT_NT_TIMEOUT,
        settings.VAULT_NT_RETRIES if retries is None else retries,
    )


@lru_cache(maxsize=8)
def _client(base_url: str, api_key: str, timeout: float, retries: int) -> HttpTokenService:
    """One client per configuration in each process, made on first use (after gunicorn forks): its
    connections to the token service are kept alive from one request to the next."""
    return HttpTokenService(base_url=base_url, api_key=api_key, timeout=timeout, retries=retries)
