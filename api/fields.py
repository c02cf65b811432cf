"""Serializer building blocks shared by the API: strict inputs, upstream timestamps, metadata, addresses."""

import json
import re
from datetime import UTC, datetime
from functools import cached_property
from typing import ClassVar

from django_countries import countries
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.card_numbers import contains_card_number, digits_are_card_number

METADATA_MAX_KEYS = 50
METADATA_MAX_KEY_LENGTH = 40
METADATA_MAX_VALUE_LENGTH = 500


def iso_ms(value: datetime | None) -> str | None:
    """Format as upstream does: ISO-8601 UTC with exactly three fractional digits and `Z`."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}Z"


@extend_schema_field(OpenApiTypes.DATETIME)
class IsoMsDateTimeField(serializers.Field):
    def to_representation(self, value):
        return iso_ms(value)


class _StringOnly:
    """Refuse numbers and booleans where upstream expects a JSON string (DRF would coerce them), and
    any text that may hold a card number: free text is stored in clear, so no card number may enter it.
    """

    default_error_messages = {"card_number": "Must not hold a card number."}

    def __init__(self, *args, screen_card_numbers: bool = True, **kwargs):
        self.screen_card_numbers = screen_card_numbers
        super().__init__(*args, **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        value = super().to_internal_value(data)
        # A value over the length limit is refused by it anyway: not worth screening at any size.
        within_limit = getattr(self, "max_length", None) is None or len(value) <= self.max_length
        if self.screen_card_numbers and within_limit and self.holds_card_number(value):
            self.fail("card_number")
        return value

    def holds_card_number(self, value: str) -> bool:
        return contains_card_number(value)


class TextField(_StringOnly, serializers.CharField):
    pass


class EmailField(_StringOnly, serializers.EmailField):
    pass


class RegexField(_StringOnly, serializers.RegexField):
    pass


_ASCII_INT = re.compile(r"-?[0-9]{1,12}", re.ASCII)


# Phone numbers as E.164 bounds them: at most 15 digits, optionally after a `+`, as people write them
# (spaces, dashes, dots, parentheses); country calling codes of 1-4 digits, too short for a card.
E164_MAX_DIGITS = 15
_PHONE_NUMBER = re.compile(r"\+?[0-9 ().-]{1,32}", re.ASCII)
_PHONE_COUNTRY_CODE = re.compile(r"\+?[0-9]{1,4}", re.ASCII)


class PhoneNumberField(TextField):
    """Screened on all its digits, separators ignored, for the one card length a phone can hold (15):
    the shorter card formats would refuse real numbers (a 12-digit Colombian mobile may pass for
    Maestro), and a phone has no room for the longer ones."""

    default_error_messages = {"phone": f"Must be a phone number of at most {E164_MAX_DIGITS} digits."}

    def holds_card_number(self, value: str) -> bool:
        return digits_are_card_number(value, min_length=E164_MAX_DIGITS)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        digits = sum(char in "0123456789" for char in value)
        if not _PHONE_NUMBER.fullmatch(value) or not 1 <= digits <= E164_MAX_DIGITS:
            self.fail("phone")
        return value


class PhoneCountryCodeField(TextField):
    default_error_messages = {"phone_country_code": "Must be a country calling code: `+` and 1 to 4 digits."}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not _PHONE_COUNTRY_CODE.fullmatch(value):
            self.fail("phone_country_code")
        return value

    def holds_card_number(self, value: str) -> bool:
        return False  # 4 digits at most: its format is its screen


class AsciiIntegerField(serializers.IntegerField):
    """An integer from JSON or a query string, in ASCII digits only (int() would take other scripts)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not (
            isinstance(data, int) or (isinstance(data, str) and _ASCII_INT.fullmatch(data))
        ):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictSerializer(serializers.Serializer):
    """An input serializer that rejects fields it does not declare, as upstream's deny_unknown_fields.

    A top-level one builds its fields once per class (and `partial`) and process, not per request:
    DRF deep-copies every declared field of every nested serializer each time, which cost about a
    tenth of a create. Sharing them is safe because validating holds no state on a field and no input
    serializer reads `context`; a nested serializer's fields are built once as part of that tree.
    """

    _built_fields: ClassVar[dict[bool, dict]]

    @cached_property
    def fields(self):
        if self.parent is not None or self._context:
            return serializers.Serializer.fields.func(self)
        cls = type(self)
        if "_built_fields" not in cls.__dict__:
            cls._built_fields = {}
        partial = bool(self.partial)
        if partial not in cls._built_fields:
            # Bound to an instance without data, so that the shared tree never keeps a request's values.
            cls._built_fields[partial] = serializers.Serializer.fields.func(cls(partial=partial))
        return cls._built_fields[partial]

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = [key for key in data if key not in self.fields]
            if unknown:
                raise serializers.ValidationError(
                    {key: [serializers.ErrorDetail("unknown field", code="unknown_field")] for key in unknown}
                )
        return super().to_internal_value(data)


class MetadataField(serializers.DictField):
    """Free JSON metadata with the documented limits enforced, and no card numbers in it."""

    default_error_messages = {
        "too_many_keys": f"At most {METADATA_MAX_KEYS} keys are allowed.",
        "key_too_long": f"Keys are at most {METADATA_MAX_KEY_LENGTH} characters.",
        "value_too_long": f"Values are at most {METADATA_MAX_VALUE_LENGTH} characters.",
        "card_number": "Values must not hold a card number.",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(child=serializers.JSONField(), **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if len(value) > METADATA_MAX_KEYS:
            self.fail("too_many_keys")
        for key, item in value.items():
            if len(key) > METADATA_MAX_KEY_LENGTH:
                self.fail("key_too_long")
            text = item if isinstance(item, str) else json.dumps(item)
            if len(text) > METADATA_MAX_VALUE_LENGTH:
                self.fail("value_too_long")
            if contains_card_number(key) or contains_card_number(text):
                self.fail("card_number")
        return value


COUNTRY_CODES = [code for code, _ in countries]
# ISO 4217 codes as upstream's `Currency` enum lists them.
CURRENCY_CODES = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD
CAD CDF CHF CLF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS
GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW
KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN
NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE
SLL SOS SRD SSP STD STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND
VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL
""".split()  # noqa: SIM905 (a table reads better than 160 quoted strings)


class AddressDetailsSerializer(StrictSerializer):
    """Upstream's AddressDetails: every field optional and nullable."""

    city = TextField(max_length=50, required=False, allow_null=True)
    country = serializers.ChoiceField(choices=COUNTRY_CODES, required=False, allow_null=True)
    line1 = TextField(max_length=200, required=False, allow_null=True)
    line2 = TextField(max_length=50, required=False, allow_null=True)
    line3 = TextField(max_length=50, required=False, allow_null=True)
    zip = TextField(max_length=50, required=False, allow_null=True)
    state = TextField(max_length=255, required=False, allow_null=True)
    first_name = TextField(max_length=255, required=False, allow_null=True)
    last_name = TextField(max_length=255, required=False, allow_null=True)
    origin_zip = TextField(max_length=50, required=False, allow_null=True)

    def validate(self, attrs):
        return {name: attrs.get(name) for name in self.fields}


class NetworkTransactionIdField(TextField):
    """A network's transaction id is a digit string by design (Visa's has 15 digits): screened for
    card numbers longer than that, which no transaction id is."""

    def holds_card_number(self, value: str) -> bool:
        return contains_card_number(value, min_length=16)
