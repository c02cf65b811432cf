"""The webhook the token service pushes lifecycle events to, authenticated by a shared-secret signature."""

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core import errors
from core.strict_json import parse_strict_json
from tokens.network.protocol import SIGNATURE_HEADER, STATUSES, signature_valid
from tokens.network.services import network_token_apply_event


class TokenServiceWebhookView(APIView):
    authentication_classes: list = []
    permission_classes: list = []

    @extend_schema(
        summary="Receive a network-token lifecycle event from the token service",
        description=f"Signed with `{SIGNATURE_HEADER}: t=<unix time>,v1=<HMAC-SHA256 hex>`; see the README.",
        request=inline_serializer(
            "TokenLifecycleEvent",
            {
                "event_id": serializers.CharField(),
                "token_ref": serializers.CharField(),
                "status": serializers.ChoiceField(choices=STATUSES),
                "token_exp_month": serializers.CharField(),
                "token_exp_year": serializers.CharField(),
                "occurred_at": serializers.CharField(),
            },
        ),
        responses={
            200: inline_serializer(
                "TokenLifecycleAck",
                {
                    "received": serializers.BooleanField(),
                    "outcome": serializers.ChoiceField(choices=["applied", "ignored", "replayed"]),
                },
            )
        },
        tags=["network tokens"],
    )
    def post(self, request):
        # The signature covers the raw bytes: check it before parsing anything.
        raw = request.body
        secret = settings.VAULT_NT_WEBHOOK_SECRET
        if not secret or not signature_valid(raw, request.headers.get(SIGNATURE_HEADER, ""), secret):
            raise errors.Unauthenticated("Webhook signature missing or invalid")
        event = parse_strict_json(raw)
        if not isinstance(event, dict):
            raise errors.InvalidRequest("Event must be a JSON object")
        # 200 whatever the outcome: a replay or a late event is received, and must not be retried.
        outcome = network_token_apply_event(event=event)
        return Response({"received": True, "outcome": outcome})
