"""Input and output shapes of the payment-methods API (upstream PaymentMethodCreate / PaymentMethodResponse).

Card input fields are write-only by construction: no output serializer here has a card-number field,
and the number becomes a masked CardSecret the moment it is parsed.
"""

from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.fields import (
    COUNTRY_CODES,
    CURRENCY_CODES,
    AddressDetailsSerializer,
    AsciiIntegerField,
    EmailField,
    IsoMsDateTimeField,
    MetadataField,
    NetworkTransactionIdField,
    PhoneCountryCodeField,
    PhoneNumberField,
    RegexField,
    StrictSerializer,
    TextField,
    iso_ms,
)
from tokens import cards
from tokens.crypto import CardSecret, CvcSecret
from tokens.models import PaymentMethod
from tokens.network.protocol import TOKEN_DELETED

CARD_SUBTYPES = ("credit", "debit")


def _rule_error(field: str, code: str, message: str) -> serializers.ValidationError:
    return serializers.ValidationError({field: [serializers.ErrorDetail(message, code=code)]})


class CardNumberField(TextField):
    """Parse a card number into a CardSecret; the digits are never part of an error."""

    def __init__(self, **kwargs):
        # Not trimmed: only ASCII spaces are taken out of a number (tokens/cards.py), never tabs,
        # newlines or other Unicode spaces around it.
        super().__init__(screen_card_numbers=False, trim_whitespace=False, **kwargs)

    @sensitive_variables("data", "raw")
    def to_internal_value(self, data):
        raw = super().to_internal_value(data)
        try:
            return CardSecret(number=cards.normalise_number(raw))
        except cards.CardRuleError:
            self.fail("invalid")


class CardNetworkField(TextField):
    def to_internal_value(self, data):
        network = cards.canonical_network(super().to_internal_value(data))
        if network is None:
            self.fail("invalid")
        return network


@sensitive_variables("cvc")
def _with_sealable_cvc(attrs: dict) -> dict:
    """A CVC checked and wrapped so that no log or traceback can print it; kept for the proxy until
    used once or expired (tokens/services.py), never returned."""
    cvc = attrs.pop("card_cvc", None)
    if cvc is not None:
        if not cards.cvc_valid(cvc):
            raise _rule_error("card_cvc", "invalid_cvc", "CVC must be 3 or 4 digits")
        attrs["card_cvc"] = CvcSecret(cvc)
    return attrs


class CardDetailSerializer(serializers.Serializer):
    """Upstream's CardDetail. Unknown keys are ignored here, as upstream does, and never stored."""

    card_number = CardNumberField(write_only=True)
    card_exp_month = TextField()
    card_exp_year = TextField()
    card_holder_name = TextField(max_length=255, required=False, allow_null=True)
    nick_name = TextField(max_length=255, required=False, allow_null=True)
    card_issuing_country = serializers.ChoiceField(choices=COUNTRY_CODES, required=False, allow_null=True)
    card_network = CardNetworkField(required=False, allow_null=True)
    card_issuer = TextField(max_length=255, required=False, allow_null=True)
    card_type = serializers.ChoiceField(choices=CARD_SUBTYPES, required=False, allow_null=True)
    card_cvc = TextField(required=False, allow_null=True, write_only=True, trim_whitespace=False)

    def validate(self, attrs):
        try:
            cards.expiry(attrs["card_exp_month"], attrs["card_exp_year"])
        except cards.CardRuleError as exc:
            raise _rule_error("card_exp_month", "invalid_expiry", str(exc)) from None
        return _with_sealable_cvc(attrs)


class PaymentMethodDataSerializer(StrictSerializer):
    card = CardDetailSerializer()


class NetworkTokenizationSerializer(StrictSerializer):
    enable = serializers.ChoiceField(choices=["Enable", "Skip"])


class PhoneSerializer(StrictSerializer):
    number = PhoneNumberField(max_length=255, required=False, allow_null=True)
    country_code = PhoneCountryCodeField(max_length=255, required=False, allow_null=True)


class BillingSerializer(StrictSerializer):
    address = AddressDetailsSerializer(required=False, allow_null=True)
    phone = PhoneSerializer(required=False, allow_null=True)
    email = EmailField(max_length=255, required=False, allow_null=True)

    def validate(self, attrs):
        return {name: attrs.get(name) for name in self.fields}


class PaymentMethodCreateSerializer(StrictSerializer):
    payment_method_type = serializers.ChoiceField(choices=["card"], help_text="The vault stores cards.")
    payment_method_subtype = serializers.ChoiceField(choices=CARD_SUBTYPES, required=False, allow_null=True)
    # An id, checked against the id format by the selector; uuid7 hex may look like digits.
    customer_id = TextField(
        required=False, allow_null=True, screen_card_numbers=False, help_text="Required for persistent storage."
    )
    payment_method_data = PaymentMethodDataSerializer()
    billing = BillingSerializer(required=False, allow_null=True)
    metadata = MetadataField()
    network_tokenization = NetworkTokenizationSerializer(required=False, allow_null=True)
    storage_type = serializers.ChoiceField(choices=PaymentMethod.StorageType.values)

    def validate(self, attrs):
        if attrs["storage_type"] == PaymentMethod.StorageType.PERSISTENT and not attrs.get("customer_id"):
            raise _rule_error("customer_id", "required", "required for persistent storage")
        # Upstream's saved-payment-methods list requires a subtype on every item: a card must say
        # whether it is credit or debit, here or as the card's card_type.
        if not attrs.get("payment_method_subtype") and not attrs["payment_method_data"]["card"].get("card_type"):
            raise _rule_error(
                "payment_method_subtype", "required", "required unless payment_method_data.card.card_type is given"
            )
        return attrs


class CardUpdateSerializer(StrictSerializer):
    card_holder_name = TextField(max_length=255, required=False, allow_null=True)
    nick_name = TextField(max_length=255, required=False, allow_null=True)
    card_cvc = TextField(required=False, allow_null=True, write_only=True, trim_whitespace=False)

    def validate(self, attrs):
        return _with_sealable_cvc(attrs)


class PaymentMethodDataUpdateSerializer(StrictSerializer):
    card = CardUpdateSerializer()


CONNECTOR_ID_RE = r"\A[A-Za-z0-9_-]{1,64}\Z"


class ConnectorTokenDetailsSerializer(StrictSerializer):
    """Upstream's v2 ConnectorTokenDetails: a processor's token for this card, kept per connector id."""

    connector_id = RegexField(CONNECTOR_ID_RE, help_text="The merchant connector account id (`mca_…`).")
    token_type = serializers.ChoiceField(choices=["single_use", "multi_use"])
    status = serializers.ChoiceField(choices=["active", "inactive"])
    connector_token_request_reference_id = TextField(max_length=255, required=False, allow_null=True)
    # Minor units; bounded well below any card number's length.
    original_payment_authorized_amount = AsciiIntegerField(
        min_value=0, max_value=99_999_999_999, required=False, allow_null=True
    )
    original_payment_authorized_currency = serializers.ChoiceField(
        choices=CURRENCY_CODES, required=False, allow_null=True
    )
    metadata = MetadataField()
    connector_customer_id = TextField(max_length=255, required=False, allow_null=True)
    token = TextField(max_length=1024)

    def validate(self, attrs):
        return {name: attrs.get(name) for name in self.fields}


class PaymentMethodUpdateSerializer(StrictSerializer):
    payment_method_data = PaymentMethodDataUpdateSerializer(required=False)
    connector_token_details = ConnectorTokenDetailsSerializer(required=False)
    network_transaction_id = NetworkTransactionIdField(max_length=255, required=False, allow_null=True)
    acknowledgement_status = serializers.ChoiceField(choices=["authenticated", "failed"], required=False)


class RetrieveQuerySerializer(StrictSerializer):
    fetch_raw_detail = serializers.ChoiceField(choices=["true", "false"], required=False, default="false")


class RetrieveBodySerializer(StrictSerializer):
    fetch_raw_detail = serializers.BooleanField(required=False, default=False)

    def to_internal_value(self, data):
        if isinstance(data, dict) and not isinstance(data.get("fetch_raw_detail", False), bool):
            raise _rule_error("fetch_raw_detail", "invalid", "must be a boolean")
        return super().to_internal_value(data)


class SavedListQuerySerializer(StrictSerializer):
    offset = AsciiIntegerField(min_value=0, max_value=1_000_000_000, default=0)
    limit = AsciiIntegerField(min_value=1, max_value=1_000_000_000, default=100)
    # Accepted for upstream compatibility; a vaulted card is active at once, so nothing is hidden.
    include_new = serializers.ChoiceField(choices=["true", "false"], required=False)


# --- Output --------------------------------------------------------------------------------------

# The card's descriptive fields, shown in clear on every card and token view (none is card data).
CARD_DISPLAY_FIELDS = ("card_holder_name", "nick_name", "card_network", "card_issuer", "card_type")


def card_display(payment_method) -> dict:
    """The card's descriptive fields of *payment_method*, for views built as dicts."""
    return {name: getattr(payment_method, name) for name in CARD_DISPLAY_FIELDS}


# Every card and token view inherits these (a comment, not a docstring: the OpenAPI document
# would show a docstring as each subclass's description).
class CardDisplayFieldsSerializer(serializers.Serializer):
    card_holder_name = serializers.CharField(allow_null=True)
    nick_name = serializers.CharField(allow_null=True)
    card_network = serializers.CharField(allow_null=True)
    card_issuer = serializers.CharField(allow_null=True)
    card_type = serializers.CharField(allow_null=True)


class CardDetailFromLockerSerializer(CardDisplayFieldsSerializer):
    issuer_country = serializers.CharField(allow_null=True)
    last4_digits = serializers.CharField()
    expiry_month = serializers.CharField()
    expiry_year = serializers.CharField()
    card_fingerprint = serializers.CharField(allow_null=True)
    card_isin = serializers.CharField(allow_null=True)
    saved_to_locker = serializers.SerializerMethodField()

    def get_saved_to_locker(self, payment_method) -> bool:
        return True


class MaskedCardDataSerializer(serializers.Serializer):
    card = CardDetailFromLockerSerializer(source="*")


class CvcStorageSerializer(serializers.Serializer):
    is_stored = serializers.BooleanField()
    expires_at = serializers.CharField()


class RawCardSerializer(CardDisplayFieldsSerializer):
    """The full card, for keys with the reveal scope only."""

    card_number = serializers.CharField()
    card_exp_month = serializers.CharField()
    card_exp_year = serializers.CharField()
    card_issuing_country = serializers.CharField(allow_null=True)
    card_cvc = serializers.CharField(allow_null=True)


class RawCardWithNetworkTokenSerializer(serializers.Serializer):
    card_details = RawCardSerializer()
    network_token_details = RawCardSerializer()


class RawPaymentMethodDataSerializer(serializers.Serializer):
    """`card`, or upstream's `card_with_n_t` when a network token exists."""

    card = RawCardSerializer(required=False)
    card_with_n_t = RawCardWithNetworkTokenSerializer(required=False)


class NetworkTokenDetailsSerializer(CardDisplayFieldsSerializer):
    last4_digits = serializers.CharField()
    issuer_country = serializers.CharField(allow_null=True)
    network_token_expiry_month = serializers.CharField()
    network_token_expiry_year = serializers.CharField()
    card_isin = serializers.CharField(allow_null=True)
    saved_to_locker = serializers.BooleanField()
    par = serializers.CharField(allow_null=True)


class NetworkTokenSerializer(serializers.Serializer):
    payment_method_data = NetworkTokenDetailsSerializer()


def network_token_view(payment_method) -> dict | None:
    """The masked network token of a payment method, as upstream's `network_token`, or None."""
    if not payment_method.network_token_ref or payment_method.network_token_status == TOKEN_DELETED:
        return None
    return {
        "payment_method_data": {
            "last4_digits": payment_method.network_token_last4,
            "issuer_country": payment_method.issuer_country,
            "network_token_expiry_month": payment_method.network_token_exp_month,
            "network_token_expiry_year": payment_method.network_token_exp_year,
            "card_isin": payment_method.network_token_isin,
            **card_display(payment_method),
            "saved_to_locker": True,
            "par": payment_method.network_token_par,
        }
    }


def _raw_card(payment_method, number: str, exp_month: str | None, exp_year: str | None) -> dict:
    return {
        "card_number": number,
        "card_exp_month": exp_month,
        "card_exp_year": exp_year,
        "card_issuing_country": payment_method.issuer_country,
        **card_display(payment_method),
        "card_cvc": None,
    }


class ConnectorTokenSerializer(serializers.Serializer):
    connector_id = serializers.CharField()
    token_type = serializers.CharField()
    status = serializers.CharField()
    connector_token_request_reference_id = serializers.CharField(allow_null=True)
    original_payment_authorized_amount = serializers.IntegerField(allow_null=True)
    original_payment_authorized_currency = serializers.CharField(allow_null=True)
    metadata = serializers.JSONField(allow_null=True)
    connector_customer_id = serializers.CharField(allow_null=True)
    token = serializers.CharField()


def has_active_connector_token(payment_method) -> bool:
    return any(token.get("status") == "active" for token in payment_method.connector_tokens or [])


class PaymentMethodSerializer(serializers.Serializer):
    id = serializers.CharField()
    merchant_id = serializers.CharField()
    customer_id = serializers.CharField(allow_null=True)
    payment_method_type = serializers.CharField(allow_null=True)
    payment_method_subtype = serializers.CharField(allow_null=True)
    recurring_enabled = serializers.SerializerMethodField()
    created = IsoMsDateTimeField()
    last_used_at = IsoMsDateTimeField()
    payment_method_data = MaskedCardDataSerializer(source="*")
    connector_tokens = serializers.SerializerMethodField()
    network_token = serializers.SerializerMethodField()
    storage_type = serializers.CharField()
    card_cvc_token_storage = serializers.SerializerMethodField()
    network_transaction_id = serializers.CharField(allow_null=True)
    raw_payment_method_data = serializers.SerializerMethodField()
    billing = BillingSerializer(allow_null=True)
    acknowledgement_status = serializers.CharField(allow_null=True)

    def get_recurring_enabled(self, payment_method) -> bool:
        return False

    @extend_schema_field(ConnectorTokenSerializer(many=True, allow_null=True))
    def get_connector_tokens(self, payment_method):
        return payment_method.connector_tokens or None

    @extend_schema_field(NetworkTokenSerializer(allow_null=True))
    def get_network_token(self, payment_method):
        return network_token_view(payment_method)

    @extend_schema_field(CvcStorageSerializer(allow_null=True))
    def get_card_cvc_token_storage(self, payment_method) -> dict | None:
        expires_at = payment_method.cvc_expires_at
        if expires_at is None or expires_at <= timezone.now():
            return None
        return {"is_stored": True, "expires_at": iso_ms(expires_at)}

    @extend_schema_field(RawPaymentMethodDataSerializer(allow_null=True))
    @sensitive_variables("secret", "card", "token")
    def get_raw_payment_method_data(self, payment_method):
        secret = self.context.get("revealed")
        if secret is None:
            return None
        card = _raw_card(payment_method, secret.number, payment_method.expiry_month, payment_method.expiry_year)
        if secret.token_number is None or network_token_view(payment_method) is None:
            return {"card": card}
        token = _raw_card(
            payment_method,
            secret.token_number,
            payment_method.network_token_exp_month,
            payment_method.network_token_exp_year,
        )
        return {"card_with_n_t": {"card_details": card, "network_token_details": token}}


class PaymentMethodDeleteSerializer(serializers.Serializer):
    id = serializers.CharField()


class SavedPaymentMethodSerializer(serializers.Serializer):
    id = serializers.CharField()
    customer_id = serializers.CharField(allow_null=True)
    payment_method_type = serializers.CharField()
    payment_method_subtype = serializers.CharField()
    recurring_enabled = serializers.SerializerMethodField()
    payment_method_data = MaskedCardDataSerializer(source="*")
    created = IsoMsDateTimeField()
    requires_cvv = serializers.SerializerMethodField()
    last_used_at = IsoMsDateTimeField()
    is_default = serializers.SerializerMethodField()
    billing = BillingSerializer(allow_null=True)
    network_tokenization = serializers.SerializerMethodField()
    connector_tokens = serializers.SerializerMethodField()
    network_transaction_id = serializers.CharField(allow_null=True)

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_recurring_enabled(self, payment_method) -> bool | None:
        # As upstream: true when a processor holds an active token for the card, else null.
        return has_active_connector_token(payment_method) or None

    def get_requires_cvv(self, payment_method) -> bool:
        return True

    def get_is_default(self, payment_method) -> bool:
        return payment_method.id == self.context.get("default_payment_method_id")

    @extend_schema_field(NetworkTokenSerializer(allow_null=True))
    def get_network_tokenization(self, payment_method):
        return network_token_view(payment_method)

    @extend_schema_field(ConnectorTokenSerializer(many=True, allow_null=True))
    def get_connector_tokens(self, payment_method):
        return payment_method.connector_tokens or None


class SavedPaymentMethodsSerializer(serializers.Serializer):
    customer_payment_methods = SavedPaymentMethodSerializer(many=True)


class GetTokenSerializer(StrictSerializer):
    token_type = serializers.ChoiceField(choices=["network_token", "single_use_token", "multi_use_token"])


class EligibilityQuerySerializer(StrictSerializer):
    card_bin = RegexField(r"\A[0-9]{6,8}\Z", screen_card_numbers=False)


class EligibilitySerializer(serializers.Serializer):
    eligible_for_network_tokenization = serializers.BooleanField()


class TokenDetailsSerializer(CardDisplayFieldsSerializer):
    network_token = serializers.CharField()
    network_token_exp_month = serializers.CharField()
    network_token_exp_year = serializers.CharField()
    cryptogram = serializers.CharField()
    card_issuing_country = serializers.CharField(allow_null=True)
    bank_code = serializers.CharField(allow_null=True)
    eci = serializers.CharField(allow_null=True)


class GetTokenResponseSerializer(serializers.Serializer):
    payment_method_id = serializers.CharField()
    token_type = serializers.CharField()
    token_details = TokenDetailsSerializer()


@sensitive_variables("issued")
def issued_token_view(issued) -> dict:
    """Upstream's get-token answer: the network token number itself, for keys with the reveal scope."""
    payment_method = issued.payment_method
    return {
        "payment_method_id": payment_method.id,
        "token_type": "network_token",
        "token_details": {
            "network_token": issued.secret.token_number,
            "network_token_exp_month": payment_method.network_token_exp_month,
            "network_token_exp_year": payment_method.network_token_exp_year,
            "cryptogram": issued.cryptogram.cryptogram,
            "card_issuing_country": payment_method.issuer_country,
            "bank_code": None,
            **card_display(payment_method),
            "eci": issued.cryptogram.eci,
        },
    }


class NetworkTokenStatusSerializer(serializers.Serializer):
    """Upstream's union, tagged by `type`: success_response or failure_response."""

    type = serializers.ChoiceField(choices=["success_response", "failure_response"])
    status = serializers.CharField(required=False)
    token_expiry_month = serializers.CharField(required=False)
    token_expiry_year = serializers.CharField(required=False)
    card_last_four = serializers.CharField(required=False)
    token_last_four = serializers.CharField(required=False)
    card_expiry_month = serializers.CharField(required=False)
    card_expiry_year = serializers.CharField(required=False)
    payment_method_id = serializers.CharField(required=False)
    customer_id = serializers.CharField(required=False, allow_null=True)
    error_message = serializers.CharField(required=False)
