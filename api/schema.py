"""OpenAPI pieces every vault route shares: the profile header and the error envelope."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from merchants.models import PROFILE_ID_RE

PROFILE_HEADER = OpenApiParameter(
    name="X-Profile-Id",
    type=str,
    location=OpenApiParameter.HEADER,
    required=True,
    pattern=rf"^{PROFILE_ID_RE.pattern}$",
    description="A profile of the API key's merchant.",
)

IDEMPOTENCY_HEADER = OpenApiParameter(
    name="Idempotency-Key",
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Optional, 1-255 printable ASCII characters. A retry with the same key and body replays the first "
        "answer; the same key with another body is 422; kept 24 hours, per merchant."
    ),
)

ERROR_ENVELOPE = inline_serializer(
    name="ErrorEnvelope",
    fields={
        "error": inline_serializer(
            name="ErrorBody",
            fields={
                "type": serializers.ChoiceField(choices=["invalid_request", "api"]),
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "fields": serializers.DictField(child=serializers.CharField(), required=False),
            },
        )
    },
)


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """The error answers a route can give, besides those every vault route can."""
    common = (400, 401, 403, 413, 415, 422, 503)
    return {status: OpenApiResponse(ERROR_ENVELOPE) for status in sorted({*common, *statuses})}


class VaultAutoSchema(AutoSchema):
    """Name operations after the route and the viewset action, so one route with two verbs mapped to
    different actions (retrieve by GET and by POST) and the two spellings never collide."""

    def get_operation_id(self):
        tokens = [part for part in self.path.strip("/").replace("-", "_").split("/") if not part.startswith("{")]
        return "_".join([*tokens, getattr(self.view, "action", None) or self.method.lower(), self.method.lower()])


# Loaded with VaultAutoSchema, so the document always describes the key header.
class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiKeyAuthentication"
    name = "api_key"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "api-key",
            "description": (
                "The merchant's API key, as `api-key: <key>` or `Authorization: api-key=<key>`. "
                "Every request also needs `X-Profile-Id`."
            ),
        }
