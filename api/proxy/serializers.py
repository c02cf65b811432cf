"""The proxy's request and answer, upstream's ProxyRequest and ProxyResponse."""

import re

from rest_framework import serializers

from api.fields import RegexField, StrictSerializer, TextField
from proxy.forwarding import TOKEN_TYPES

METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
MAX_HEADERS = 64
_HEADER_NAME = re.compile(r"\A[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}\Z", re.ASCII)
_HEADER_VALUE_FORBIDDEN = re.compile(r"[\x00\r\n]")


class HeadersField(serializers.DictField):
    """Header names as HTTP allows them; values as text without line breaks (no header injection)."""

    child = TextField(max_length=8192, allow_blank=True, trim_whitespace=False, screen_card_numbers=False)
    default_error_messages = {
        "too_many": f"At most {MAX_HEADERS} headers are allowed.",
        "bad_name": "A header name may hold only the characters HTTP allows in one.",
        "bad_value": "A header value may not hold line breaks or NUL.",
    }

    def to_internal_value(self, data):
        if isinstance(data, dict):
            if len(data) > MAX_HEADERS:
                self.fail("too_many")
            if not all(isinstance(name, str) and _HEADER_NAME.match(name) for name in data):
                self.fail("bad_name")
        headers = super().to_internal_value(data)
        if any(_HEADER_VALUE_FORBIDDEN.search(value) for value in headers.values()):
            self.fail("bad_value")
        return headers


class ProxyRequestSerializer(StrictSerializer):
    request_body = serializers.JSONField(
        allow_null=True, help_text="Forwarded as JSON, or form-encoded when the headers say so."
    )
    destination_url = TextField(max_length=2048, screen_card_numbers=False)
    headers = HeadersField()
    method = serializers.ChoiceField(choices=METHODS)
    # An id, checked against the id format by the selector; uuid7 hex may look like digits.
    token = RegexField(
        r"\A[A-Za-z0-9_]{1,64}\Z", screen_card_numbers=False, help_text="The payment method's or token's id."
    )
    token_type = serializers.ChoiceField(choices=list(TOKEN_TYPES))


class ProxyResponseSerializer(serializers.Serializer):
    response = serializers.JSONField(
        allow_null=True, help_text="The destination's body: JSON when it parses, else text."
    )
    status_code = serializers.IntegerField()
    response_headers = serializers.DictField(child=serializers.CharField())
