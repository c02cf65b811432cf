"""The payment-methods API: parse, call one service or selector, render. No logic here."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.response import Response

from api.idempotency import idempotent
from api.payment_methods.serializers import (
    EligibilityQuerySerializer,
    EligibilitySerializer,
    GetTokenResponseSerializer,
    GetTokenSerializer,
    NetworkTokenStatusSerializer,
    PaymentMethodCreateSerializer,
    PaymentMethodDeleteSerializer,
    PaymentMethodSerializer,
    PaymentMethodUpdateSerializer,
    RetrieveBodySerializer,
    RetrieveQuerySerializer,
    issued_token_view,
)
from api.rendering import Renderer
from api.schema import IDEMPOTENCY_HEADER, PROFILE_HEADER, error_responses
from api.viewsets import VaultViewSet
from merchants import scopes
from tokens import services
from tokens.network import services as network
from tokens.selectors import payment_method_get

PAYMENT_METHOD = Renderer(PaymentMethodSerializer)  # the masked answer; a reveal renders its own
FETCH_RAW = OpenApiParameter(
    "fetch_raw_detail",
    type=bool,
    required=False,
    description=(
        "Return the full card in `raw_payment_method_data` to keys with the payment_methods:reveal scope;"
        " for other keys it stays null (the attempt is audited as denied)."
    ),
)


@extend_schema_view(
    create=extend_schema(
        summary="Vault a card",
        parameters=[IDEMPOTENCY_HEADER],
        request=PaymentMethodCreateSerializer,
        responses={200: PaymentMethodSerializer, **error_responses(404, 409)},
    ),
    retrieve=extend_schema(
        summary="Retrieve a payment method",
        parameters=[FETCH_RAW],
        request=RetrieveBodySerializer,
        responses={200: PaymentMethodSerializer, **error_responses(404)},
    ),
    update=extend_schema(
        summary="Update a saved payment method",
        request=PaymentMethodUpdateSerializer,
        responses={200: PaymentMethodSerializer, **error_responses(404)},
    ),
    destroy=extend_schema(
        summary="Delete a payment method and destroy its card data",
        responses={200: PaymentMethodDeleteSerializer, **error_responses(404)},
    ),
)
@extend_schema(parameters=[PROFILE_HEADER], tags=["payment methods"])
class PaymentMethodViewSet(VaultViewSet):
    required_scopes = {
        "create": scopes.PAYMENT_METHODS_WRITE,
        "retrieve": scopes.PAYMENT_METHODS_READ,
        "update": scopes.PAYMENT_METHODS_WRITE,
        "destroy": scopes.PAYMENT_METHODS_WRITE,
        "network_token_status": scopes.PAYMENT_METHODS_READ,
        # Reading the token itself also needs payment_methods:reveal, checked and audited by the service.
        "get_token": scopes.PAYMENT_METHODS_READ,
        "network_token_eligibility": scopes.PAYMENT_METHODS_READ,
    }

    @idempotent
    def create(self, request):
        body = PaymentMethodCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        payment_method = services.payment_method_create(
            actor=self.actor, merchant=self.merchant, profile=self.principal.profile, data=body.validated_data
        )
        return Response(PAYMENT_METHOD.one(payment_method))

    def retrieve(self, request, payment_method_id: str):
        query = RetrieveQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        body = RetrieveBodySerializer(data=request.data if request.method == "POST" else {})
        body.is_valid(raise_exception=True)
        merchant = self.merchant
        if query.validated_data["fetch_raw_detail"] == "true" or body.validated_data["fetch_raw_detail"]:
            payment_method, secret = services.payment_method_reveal(
                actor=self.actor,
                merchant=merchant,
                payment_method_id=payment_method_id,
                allowed=self.principal.has_scope(scopes.PAYMENT_METHODS_REVEAL),
            )
            return Response(PaymentMethodSerializer(payment_method, context={"revealed": secret}).data)
        payment_method = payment_method_get(merchant=merchant, payment_method_id=payment_method_id)
        return Response(PAYMENT_METHOD.one(payment_method))

    def update(self, request, payment_method_id: str):
        body = PaymentMethodUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        payment_method = services.payment_method_update(
            actor=self.actor,
            merchant=self.merchant,
            payment_method_id=payment_method_id,
            data=body.validated_data,
        )
        return Response(PAYMENT_METHOD.one(payment_method))

    def destroy(self, request, payment_method_id: str):
        payment_method = services.payment_method_delete(
            actor=self.actor, merchant=self.merchant, payment_method_id=payment_method_id
        )
        return Response({"id": payment_method.id})

    @extend_schema(
        summary="Check a payment method's network token at the token service",
        responses={200: NetworkTokenStatusSerializer, **error_responses(404)},
    )
    def network_token_status(self, request, payment_method_id: str):
        return Response(network.network_token_status(merchant=self.merchant, payment_method_id=payment_method_id))

    @extend_schema(
        summary="Get the network token with a fresh cryptogram (needs payment_methods:reveal)",
        request=GetTokenSerializer,
        responses={200: GetTokenResponseSerializer, **error_responses(404)},
    )
    def get_token(self, request, payment_method_id: str):
        body = GetTokenSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        issued = network.network_token_get(
            actor=self.actor,
            merchant=self.merchant,
            profile=self.principal.profile,
            payment_method_id=payment_method_id,
            token_type=body.validated_data["token_type"],
            allowed=self.principal.has_scope(scopes.PAYMENT_METHODS_REVEAL),
        )
        return Response(issued_token_view(issued))

    @extend_schema(
        summary="Tell whether a card BIN is eligible for a network token",
        parameters=[EligibilityQuerySerializer],
        responses={200: EligibilitySerializer, **error_responses()},
    )
    def network_token_eligibility(self, request):
        query = EligibilityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        eligible = network.network_token_eligible(
            profile=self.principal.profile, card_bin=query.validated_data["card_bin"]
        )
        return Response({"eligible_for_network_tokenization": eligible})
