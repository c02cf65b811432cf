"""Input and output shapes of the customers API (upstream CustomerRequest / CustomerResponse)."""

import re

from rest_framework import serializers

from api.fields import (
    AddressDetailsSerializer,
    AsciiIntegerField,
    EmailField,
    IsoMsDateTimeField,
    MetadataField,
    PhoneCountryCodeField,
    PhoneNumberField,
    RegexField,
    StrictSerializer,
    TextField,
)
from core.card_numbers import contains_card_number
from customers.documents import DOCUMENT_TYPES, document_is_checked_and_valid

REFERENCE_ID_RE = re.compile(r"\A[A-Za-z0-9_-]{1,64}\Z", re.ASCII)


class DocumentDetailsSerializer(StrictSerializer):
    document_type = serializers.ChoiceField(choices=DOCUMENT_TYPES)
    # Screened in validate(): a number that checks out as its declared type is that document, even
    # where its digits would also pass for a card (a CNPJ, a 12-digit PSN).
    document_number = TextField(max_length=255, screen_card_numbers=False)

    def validate(self, attrs):
        # A partial update of the customer must still send a whole document.
        missing = [name for name in self.fields if name not in attrs]
        if missing:
            raise serializers.ValidationError(
                {name: [serializers.ErrorDetail("This field is required.", code="required")] for name in missing}
            )
        number = attrs["document_number"]
        if not document_is_checked_and_valid(attrs["document_type"], number) and contains_card_number(number):
            raise serializers.ValidationError(
                {"document_number": [serializers.ErrorDetail("Must not hold a card number.", code="card_number")]}
            )
        return attrs


class CustomerFieldsSerializer(StrictSerializer):
    """The fields a customer create and update share."""

    name = TextField(max_length=255)
    email = EmailField(max_length=255)
    phone = PhoneNumberField(max_length=255, required=False, allow_null=True)
    phone_country_code = PhoneCountryCodeField(max_length=255, required=False, allow_null=True)
    description = TextField(max_length=255, required=False, allow_null=True)
    default_billing_address = AddressDetailsSerializer(required=False, allow_null=True)
    default_shipping_address = AddressDetailsSerializer(required=False, allow_null=True)
    metadata = MetadataField()
    tax_registration_id = TextField(max_length=255, required=False, allow_null=True)
    document_details = DocumentDetailsSerializer(required=False, allow_null=True)


class CustomerCreateSerializer(CustomerFieldsSerializer):
    merchant_reference_id = RegexField(REFERENCE_ID_RE, required=False, allow_null=True)


class CustomerUpdateSerializer(CustomerFieldsSerializer):
    """Every field optional (as upstream's code); the reference id is not updatable."""

    default_payment_method_id = TextField(required=False, allow_null=True, screen_card_numbers=False)

    def __init__(self, *args, **kwargs):
        kwargs["partial"] = True
        super().__init__(*args, **kwargs)


class CustomerListQuerySerializer(StrictSerializer):
    offset = AsciiIntegerField(min_value=0, max_value=1_000_000_000, default=0)
    limit = AsciiIntegerField(min_value=1, max_value=1_000_000_000, default=10)
    customer_id = RegexField(REFERENCE_ID_RE, required=False, help_text="filter by merchant_reference_id")


class CustomerSerializer(serializers.Serializer):
    id = serializers.CharField()
    merchant_reference_id = serializers.CharField(allow_null=True)
    connector_customer_ids = serializers.JSONField(allow_null=True)
    name = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField(allow_null=True)
    phone_country_code = serializers.CharField(allow_null=True)
    description = serializers.CharField(allow_null=True)
    default_billing_address = AddressDetailsSerializer(allow_null=True)
    default_shipping_address = AddressDetailsSerializer(allow_null=True)
    created_at = IsoMsDateTimeField()
    metadata = serializers.JSONField(allow_null=True)
    default_payment_method_id = serializers.CharField(allow_null=True)
    tax_registration_id = serializers.CharField(allow_null=True)
    document_details = DocumentDetailsSerializer(allow_null=True)


class CustomerDeleteSerializer(serializers.Serializer):
    id = serializers.CharField()
    merchant_reference_id = serializers.CharField(allow_null=True)
    customer_deleted = serializers.BooleanField()
    address_deleted = serializers.BooleanField()
    payment_methods_deleted = serializers.BooleanField()


class ReferencePathSerializer(StrictSerializer):
    """The reference id in a path: the format of `merchant_reference_id`, and no card number."""

    merchant_reference_id = RegexField(REFERENCE_ID_RE)


class EmptyBodySerializer(StrictSerializer):
    """A route that takes no body: any field is refused as unknown."""


class DefaultPaymentMethodSerializer(serializers.Serializer):
    default_payment_method_id = serializers.CharField()
    customer_id = serializers.CharField()
    payment_method_type = serializers.CharField()
    payment_method_subtype = serializers.CharField(allow_null=True)


class TotalPaymentMethodsSerializer(serializers.Serializer):
    total_count = serializers.IntegerField()
