"""The error catalogue: every failure the vault can report, with its status, code and message.

Each error class carries its own code, as Zulip's do. They are plain exceptions, not DRF's: domain
code raises them without knowing about HTTP, and the API layer alone (api/exception_handler.py, and
core/responses.py outside DRF) turns one into the Hyperswitch error envelope.

Messages are fixed text or built from field names only: an error never repeats a submitted value,
so it cannot echo card data or a key.
"""

from typing import Any


class VaultError(Exception):
    """A failure rendered as the Hyperswitch error envelope."""

    status_code = 400
    code = "IR_06"
    message = "Invalid request"

    def __init__(self, message: str | None = None, **extra: Any) -> None:
        self.message = message or type(self).message
        self.extra = {key: value for key, value in extra.items() if value is not None}
        super().__init__(self.message)

    @property
    def error_type(self) -> str:
        return "api" if self.status_code >= 500 else "invalid_request"

    def body(self) -> dict[str, Any]:
        return {"error": {"type": self.error_type, "code": self.code, "message": self.message, **self.extra}}


class InvalidRequest(VaultError):
    message = "Invalid request"


class MissingField(VaultError):
    code = "IR_04"
    message = "Missing required param"


class InvalidValue(VaultError):
    code = "IR_07"
    message = "Invalid value provided"


class PreconditionFailed(VaultError):
    code = "IR_16"
    message = "Precondition failed"


class NotSupported(VaultError):
    code = "IR_19"
    message = "Payment method type not supported"


class Unauthenticated(VaultError):
    status_code = 401
    code = "IR_01"
    message = "API key not provided or invalid API key used"


class ScopeMissing(VaultError):
    status_code = 403
    code = "IR_22"
    message = "Access forbidden: the API key lacks the scope this route needs"


class RouteNotFound(VaultError):
    status_code = 404
    code = "IR_02"
    message = "Unrecognized request URL"


class MethodNotAllowed(VaultError):
    status_code = 405
    code = "IR_03"
    message = "The HTTP method is not applicable for this API"


class BodyTooLarge(VaultError):
    status_code = 413
    code = "IR_06"
    message = "Request body is too large"


class UnsupportedMediaType(VaultError):
    status_code = 415
    code = "IR_06"
    message = "Content-Type must be application/json"


class UnprocessableRequest(VaultError):
    status_code = 422
    code = "IR_06"
    message = "The request cannot be applied to this resource"


class UnprocessableEntity(VaultError):
    status_code = 422
    code = "IR_29"
    message = "The request cannot be processed"


class ProfileHeaderInvalid(VaultError):
    status_code = 422
    code = "IR_06"
    message = "`X-Profile-Id` header is invalid"


class ProfileHeaderMissing(ProfileHeaderInvalid):
    message = "Missing header key: `X-Profile-Id`"


class IdempotencyInFlight(VaultError):
    status_code = 409
    code = "IR_38"
    message = "A request with this Idempotency-Key is still being answered; retry shortly"


class RateLimited(VaultError):
    status_code = 429
    code = "RE_00"
    message = "Too many requests"


class NotFound(VaultError):
    status_code = 404
    code = "HE_02"
    message = "Resource does not exist in our records"


class GenericNotFound(VaultError):
    status_code = 404
    code = "IR_37"
    message = "Not found"


class AlreadyRedacted(VaultError):
    code = "IR_11"
    message = "Resource has already been redacted"


class DuplicateCustomer(VaultError):
    code = "IR_12"
    # Upstream's own words, which its clients assert: it calls the reference `customer_id` here.
    message = "Customer with the given `customer_id` already exists"


class DependencyUnavailable(VaultError):
    status_code = 503
    code = "HE_00"
    message = "A service the vault depends on is unavailable; try again later"


class InternalError(VaultError):
    status_code = 500
    code = "HE_00"
    message = "Something went wrong"


class DestinationNotAllowed(VaultError):
    status_code = 403
    code = "IR_40"
    message = "The destination is not on this merchant's proxy allowlist"


class AddressNotAllowed(VaultError):
    status_code = 403
    code = "IR_41"
    message = "The destination resolves to an address the proxy may not reach"


class DestinationFailed(VaultError):
    """The proxy's destination could not be reached or broke the exchange; the message says which."""

    status_code = 502
    code = "HE_03"
    message = "The destination could not be reached"


class DestinationTimeout(VaultError):
    status_code = 504
    code = "HE_03"
    message = "The destination did not answer in time"


# --- Answered by the TLS front (deploy/nginx/), never raised in Python: nginx renders these bodies,
# so a client meets one envelope whoever refuses it (scripts/nginx_front.py writes them).


class RequestTimeout(VaultError):
    status_code = 408
    code = "IR_06"
    message = "The request was not received in time"


class UriTooLong(VaultError):
    status_code = 414
    code = "IR_06"
    message = "The request URL is too long"


class HeadersTooLarge(VaultError):
    status_code = 431
    code = "IR_06"
    message = "The request headers are too large"


class UpstreamUnavailable(VaultError):
    status_code = 502
    code = "HE_00"
    message = "The vault is unavailable; try again"


class UpstreamTimeout(VaultError):
    status_code = 504
    code = "HE_00"
    message = "The vault did not answer in time; try again"
