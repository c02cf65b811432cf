"""The customers API: parse, call one service or selector, render. No logic here."""

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.response import Response

from api.customers.serializers import (
    CustomerCreateSerializer,
    CustomerDeleteSerializer,
    CustomerListQuerySerializer,
    CustomerSerializer,
    CustomerUpdateSerializer,
    DefaultPaymentMethodSerializer,
    EmptyBodySerializer,
    ReferencePathSerializer,
    TotalPaymentMethodsSerializer,
)
from api.idempotency import idempotent
from api.payment_methods.serializers import SavedListQuerySerializer, SavedPaymentMethodsSerializer
from api.rendering import Renderer
from api.schema import IDEMPOTENCY_HEADER, PROFILE_HEADER, error_responses
from api.viewsets import VaultViewSet
from customers import selectors, services
from merchants import scopes
from tokens import customer_services
from tokens.selectors import payment_methods_count, saved_payment_methods

CUSTOMER = Renderer(CustomerSerializer)


@extend_schema_view(
    create=extend_schema(
        summary="Create a customer",
        parameters=[IDEMPOTENCY_HEADER],
        request=CustomerCreateSerializer,
        responses={200: CustomerSerializer, **error_responses(409)},
    ),
    list=extend_schema(
        summary="List customers",
        parameters=[CustomerListQuerySerializer],
        responses={200: CustomerSerializer(many=True), **error_responses()},
    ),
    retrieve=extend_schema(summary="Retrieve a customer", responses={200: CustomerSerializer, **error_responses(404)}),
    update=extend_schema(
        summary="Update a customer",
        request=CustomerUpdateSerializer,
        responses={200: CustomerSerializer, **error_responses(404)},
    ),
    destroy=extend_schema(
        summary="Delete (redact) a customer and every payment method it has",
        responses={200: CustomerDeleteSerializer, **error_responses(404)},
    ),
)
@extend_schema(parameters=[PROFILE_HEADER], tags=["customers"])
class CustomerViewSet(VaultViewSet):
    required_scopes = {
        "create": scopes.CUSTOMERS_WRITE,
        "list": scopes.CUSTOMERS_READ,
        "retrieve": scopes.CUSTOMERS_READ,
        "update": scopes.CUSTOMERS_WRITE,
        "destroy": scopes.CUSTOMERS_WRITE,
        "saved_payment_methods": scopes.PAYMENT_METHODS_READ,
        "retrieve_by_reference": scopes.CUSTOMERS_READ,
        "set_default_payment_method": scopes.CUSTOMERS_WRITE,
        "total_payment_methods": scopes.PAYMENT_METHODS_READ,
    }

    @idempotent
    def create(self, request):
        body = CustomerCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        customer = services.customer_create(
            actor=self.actor, merchant=self.merchant, profile=self.principal.profile, data=body.validated_data
        )
        return Response(CUSTOMER.one(customer))

    def list(self, request):
        query = CustomerListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        customers = selectors.customer_list(
            merchant=self.merchant,
            offset=query.validated_data["offset"],
            limit=min(query.validated_data["limit"], settings.VAULT_LIST_MAX_LIMIT),
            merchant_reference_id=query.validated_data.get("customer_id"),
        )
        return Response(CUSTOMER.many(customers))

    def retrieve(self, request, customer_id: str):
        customer = selectors.customer_get(merchant=self.merchant, customer_id=customer_id)
        return Response(CUSTOMER.one(customer))

    def update(self, request, customer_id: str):
        body = CustomerUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        customer = customer_services.customer_update(
            actor=self.actor, merchant=self.merchant, customer_id=customer_id, data=body.validated_data
        )
        return Response(CUSTOMER.one(customer))

    def destroy(self, request, customer_id: str):
        customer = customer_services.customer_delete(actor=self.actor, merchant=self.merchant, customer_id=customer_id)
        return Response(
            CustomerDeleteSerializer(
                {
                    "id": customer.id,
                    "merchant_reference_id": customer.merchant_reference_id,
                    "customer_deleted": True,
                    "address_deleted": True,
                    "payment_methods_deleted": True,
                }
            ).data
        )

    @extend_schema(
        summary="List a customer's saved payment methods",
        parameters=[SavedListQuerySerializer],
        responses={200: SavedPaymentMethodsSerializer, **error_responses(404)},
        tags=["payment methods"],
    )
    def saved_payment_methods(self, request, customer_id: str):
        query = SavedListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        payment_methods, default_id = saved_payment_methods(
            merchant=self.merchant,
            customer_id=customer_id,
            offset=query.validated_data["offset"],
            limit=query.validated_data["limit"],
            max_limit=settings.VAULT_LIST_MAX_LIMIT,
        )
        context = {"default_payment_method_id": default_id}
        return Response(
            SavedPaymentMethodsSerializer({"customer_payment_methods": payment_methods}, context=context).data
        )

    @extend_schema(
        summary="Retrieve a customer by its merchant reference id",
        responses={200: CustomerSerializer, **error_responses(404)},
    )
    def retrieve_by_reference(self, request, merchant_reference_id: str):
        path = ReferencePathSerializer(data={"merchant_reference_id": merchant_reference_id})
        path.is_valid(raise_exception=True)
        customer = selectors.customer_get_by_reference(merchant=self.merchant, **path.validated_data)
        return Response(CUSTOMER.one(customer))

    @extend_schema(
        summary="Make one of the customer's payment methods its default",
        parameters=[IDEMPOTENCY_HEADER],
        request=None,
        responses={200: DefaultPaymentMethodSerializer, **error_responses(404)},
        tags=["payment methods"],
    )
    @idempotent
    def set_default_payment_method(self, request, customer_id: str, payment_method_id: str):
        EmptyBodySerializer(data=request.data or {}).is_valid(raise_exception=True)
        customer, payment_method = customer_services.customer_set_default_payment_method(
            actor=self.actor, merchant=self.merchant, customer_id=customer_id, payment_method_id=payment_method_id
        )
        return Response(
            DefaultPaymentMethodSerializer(
                {
                    "default_payment_method_id": customer.default_payment_method_id,
                    "customer_id": customer.id,
                    "payment_method_type": payment_method.payment_method_type,
                    "payment_method_subtype": payment_method.payment_method_subtype,
                }
            ).data
        )

    @extend_schema(
        summary="Count the merchant's active payment methods",
        responses={200: TotalPaymentMethodsSerializer, **error_responses()},
        tags=["payment methods"],
    )
    def total_payment_methods(self, request):
        EmptyBodySerializer(data=request.query_params).is_valid(raise_exception=True)
        return Response({"total_count": payment_methods_count(merchant=self.merchant)})
