"""Generic tokenization: parse, call one service, render. No read route: a token's value is only
ever substituted by the proxy."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.response import Response

from api.idempotency import idempotent
from api.schema import IDEMPOTENCY_HEADER, PROFILE_HEADER, error_responses
from api.tokenization.serializers import (
    DeleteTokenDataRequestSerializer,
    DeleteTokenDataResponseSerializer,
    GenericTokenizationRequestSerializer,
    GenericTokenizationResponseSerializer,
)
from api.viewsets import VaultViewSet
from merchants import scopes
from tokens.crypto import TokenData
from tokens.generic_token_services import generic_token_create, generic_token_delete


@extend_schema_view(
    create=extend_schema(
        summary="Tokenize any JSON value for a customer",
        parameters=[IDEMPOTENCY_HEADER],
        request=GenericTokenizationRequestSerializer,
        responses={200: GenericTokenizationResponseSerializer, **error_responses(404)},
    ),
    destroy=extend_schema(
        summary="Delete a token and destroy its value",
        request=DeleteTokenDataRequestSerializer,
        responses={200: DeleteTokenDataResponseSerializer, **error_responses(404)},
    ),
)
@extend_schema(parameters=[PROFILE_HEADER], tags=["tokenization"])
class GenericTokenViewSet(VaultViewSet):
    required_scopes = {"create": scopes.PAYMENT_METHODS_WRITE, "destroy": scopes.PAYMENT_METHODS_WRITE}

    @idempotent
    def create(self, request):
        body = GenericTokenizationRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        token = generic_token_create(
            actor=self.actor,
            merchant=self.merchant,
            customer_id=body.validated_data["customer_id"],
            data=TokenData(body.validated_data["token_request"]),
        )
        return Response(GenericTokenizationResponseSerializer(token).data)

    def destroy(self, request, token_id: str):
        body = DeleteTokenDataRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        token = generic_token_delete(
            actor=self.actor, merchant=self.merchant, token_id=token_id, customer_id=body.validated_data["customer_id"]
        )
        return Response({"id": token.id})
