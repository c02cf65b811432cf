"""The proxy API: parse, call the proxy, render. No logic here."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from api.proxy.serializers import ProxyRequestSerializer, ProxyResponseSerializer
from api.schema import PROFILE_HEADER, error_responses
from api.throttling import ApiKeyRateThrottle, ProxyRateThrottle
from api.viewsets import VaultViewSet
from merchants import scopes
from proxy.forwarding import ProxyCall, proxy_forward


class ProxyViewSet(VaultViewSet):
    required_scopes = {"forward": scopes.PAYMENT_METHODS_PROXY}
    throttle_classes = [ApiKeyRateThrottle, ProxyRateThrottle]

    @extend_schema(
        summary="Forward a request to an approved destination with the card substituted in",
        parameters=[PROFILE_HEADER],
        request=ProxyRequestSerializer,
        responses={200: ProxyResponseSerializer, **error_responses(404, 429, 502, 504)},
        tags=["proxy"],
    )
    def forward(self, request):
        body = ProxyRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        answer = proxy_forward(actor=self.actor, merchant=self.merchant, call=ProxyCall(**body.validated_data))
        return Response(
            {
                "response": answer.response,
                "status_code": answer.status_code,
                "response_headers": answer.response_headers,
            }
        )
