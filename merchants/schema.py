"""Describe API-key authentication in the OpenAPI document."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "merchants.authentication.ApiKeyAuthentication"
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
