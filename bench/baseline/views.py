"""Insert a payment-method-sized row and select one by primary key: DRF parsing, validation and
rendering and one ORM query each, with none of the vault's work (no key, no crypto, no audit)."""

import base64
import os

import uuid6
from django.http import JsonResponse
from django.utils import timezone
from rest_framework import serializers
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from bench.baseline.models import Row


class CardInput(serializers.Serializer):
    card_number = serializers.RegexField(r"^[0-9]{12,19}$")
    card_exp_month = serializers.CharField(max_length=2)
    card_exp_year = serializers.CharField(max_length=4)
    card_holder_name = serializers.CharField(max_length=255, required=False)


class RowInput(serializers.Serializer):
    customer_id = serializers.CharField(max_length=64)
    payment_method_type = serializers.CharField(max_length=32)
    payment_method_subtype = serializers.CharField(max_length=32, required=False)
    storage_type = serializers.CharField(max_length=16)
    card = CardInput()


class RowOutput(serializers.ModelSerializer):
    class Meta:
        model = Row
        exclude = ["sealed_card"]


def _filler(size: int) -> str:
    """Random text of the size of the vault's values (no encryption: the point is the row's size)."""
    return base64.b64encode(os.urandom(size)).decode()


class RowCreate(APIView):
    def post(self, request):
        body = RowInput(data=request.data)
        body.is_valid(raise_exception=True)
        data, card = body.validated_data, body.validated_data["card"]
        number, now = card["card_number"], timezone.now()
        row = Row.objects.create(
            id=f"01_row_{uuid6.uuid7().hex}",
            merchant_id="mer_baseline0000000000",
            profile_id="pro_baseline0000000000",
            customer_id=data["customer_id"],
            payment_method_type=data["payment_method_type"],
            payment_method_subtype=data.get("payment_method_subtype"),
            storage_type=data["storage_type"],
            card_isin=number[:6],
            last4_digits=number[-4:],
            expiry_month=card["card_exp_month"],
            expiry_year=card["card_exp_year"],
            card_holder_name=card.get("card_holder_name"),
            card_network="Visa",
            # The size of the vault's sealed value (`v1.1.<80 chars>.<~80 chars>`) and its fingerprint.
            sealed_card=f"v1.1.{_filler(60)}.{_filler(64)}",
            kek_version="1",
            card_fingerprint=f"1${os.urandom(32).hex()}",
            created=now,
            last_used_at=now,
        )
        return Response(RowOutput(row).data)


class RowDetail(APIView):
    def get(self, request, row_id: str):
        return Response(RowOutput(get_object_or_404(Row, pk=row_id)).data)


def health(request):
    return JsonResponse({"status": "ok"})
