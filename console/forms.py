"""Console forms: the second sign-in step and API-key issuance."""

from django import forms
from django.utils import timezone

from merchants.models import Merchant
from merchants.scopes import ALL_SCOPES, DEFAULT_SCOPES, PAYMENT_METHODS_PROXY, PAYMENT_METHODS_REVEAL

SCOPE_HELP = {
    "customers:read": "Read customers",
    "customers:write": "Create, update and delete customers",
    "payment_methods:read": "Read payment methods (masked)",
    "payment_methods:write": "Vault, update and delete cards",
    PAYMENT_METHODS_REVEAL: "Reveal full card numbers — grant only to systems that must see them",
    PAYMENT_METHODS_PROXY: "Send cards to this merchant's approved proxy destinations",
}


class OTPTokenForm(forms.Form):
    otp_token = forms.RegexField(
        label="Six-digit code",
        regex=r"^[0-9]{6}$",
        max_length=6,
        error_messages={"invalid": "Enter the six digits your authenticator app shows."},
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True, "size": 8}
        ),
    )


class EnrolmentCodeForm(forms.Form):
    enrolment_code = forms.CharField(
        label="Enrolment code",
        max_length=32,
        help_text="The one-time code a superuser gave you (valid 24 hours).",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True, "size": 22, "spellcheck": "false"}),
    )


class ApiKeyIssueForm(forms.Form):
    merchant = forms.ModelChoiceField(queryset=Merchant.objects.order_by("name"), empty_label=None)
    name = forms.CharField(
        max_length=255, required=False, help_text="A label to recognise the key by, such as the system that uses it."
    )
    scopes = forms.MultipleChoiceField(
        choices=[(scope, f"{scope} — {SCOPE_HELP[scope]}") for scope in ALL_SCOPES],
        initial=list(DEFAULT_SCOPES),
        widget=forms.CheckboxSelectMultiple,
    )
    expires_at = forms.DateTimeField(
        required=False,
        label="Expires at (UTC)",
        help_text="Optional. Leave empty for a key that lives until it is revoked.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )

    def clean_expires_at(self):
        expires_at = self.cleaned_data.get("expires_at")
        if expires_at is not None and expires_at <= timezone.now():
            raise forms.ValidationError("The expiry must lie in the future.")
        return expires_at


class MerchantShredForm(forms.Form):
    """Request, approve or cancel a crypto-shred: the merchant id typed out each time."""

    confirmation = forms.CharField(
        label="Type the merchant id to confirm",
        max_length=64,
        required=False,
        widget=forms.TextInput(attrs={"size": 40}),
    )
    reason = forms.CharField(label="Reason (to request)", max_length=1000, required=False, widget=forms.Textarea)
    decision = forms.ChoiceField(choices=[("request", "request"), ("approve", "approve"), ("cancel", "cancel")])


class ProxyDestinationAddForm(forms.Form):
    merchant = forms.ModelChoiceField(queryset=Merchant.objects.order_by("name"), empty_label=None)
    url = forms.CharField(
        label="Destination URL",
        max_length=2048,
        help_text="Only its scheme, host and port are kept: the merchant's proxy calls may go to any path there.",
        widget=forms.URLInput(attrs={"size": 60, "placeholder": "https://api.processor.example"}),
    )
    ca_bundle = forms.CharField(
        label="CA bundle (PEM)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text="Optional. Certificates that verify this destination instead of the system's trust store.",
    )
