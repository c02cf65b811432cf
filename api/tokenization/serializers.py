"""Generic tokenization's shapes: upstream's GenericTokenizationRequest/Response and DeleteTokenData."""

from rest_framework import serializers

from api.fields import IsoMsDateTimeField, StrictSerializer, TextField


class TokenRequestField(serializers.JSONField):
    default_error_messages = {"not_object": "Must be a JSON object."}

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("not_object")
        return super().to_internal_value(data)


class GenericTokenizationRequestSerializer(StrictSerializer):
    # Ids are checked against the id format by the selector; uuid7 hex may look like digits.
    customer_id = TextField(max_length=64, screen_card_numbers=False)
    token_request = TokenRequestField(help_text="Any JSON object: sealed, never returned, usable in the proxy.")


class DeleteTokenDataRequestSerializer(StrictSerializer):
    customer_id = TextField(max_length=64, screen_card_numbers=False)
    # Upstream's payment-method session: the vault has none, so a well-formed id is accepted and unused.
    session_id = TextField(max_length=64, required=False, screen_card_numbers=False)


class GenericTokenizationResponseSerializer(serializers.Serializer):
    id = serializers.CharField()
    created_at = IsoMsDateTimeField()
    flag = serializers.CharField()


class DeleteTokenDataResponseSerializer(serializers.Serializer):
    id = serializers.CharField()
