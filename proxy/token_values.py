"""What each placeholder stands for, read from a payment method for one proxy call, and the masking
of those values (and of anything else shaped like a card number) in what the destination answers.

This is the proxy's one reader of plaintext card data (tokens/crypto.py names it): the card is
opened only when a card placeholder is used, and a cryptogram is asked for only when `cryptogram` or
`eci` is.
"""

from django.views.decorators.debug import sensitive_variables

from audit.actions import AuditAction
from audit.actors import Actor
from core import errors
from core.card_numbers import LONG_DIGIT_RUN, may_hold_card_number
from tokens.card_access import open_card
from tokens.models import PaymentMethod
from tokens.network.services import network_token_with_cryptogram

CARD_PLACEHOLDERS = frozenset({"card_number", "card_exp_month", "card_exp_year", "card_holder_name"})
NETWORK_TOKEN_PLACEHOLDERS = frozenset(
    {"network_token", "network_token_exp_month", "network_token_exp_year", "cryptogram", "eci"}
)
PAYMENT_METHOD_PLACEHOLDERS = CARD_PLACEHOLDERS | NETWORK_TOKEN_PLACEHOLDERS
ACTION = AuditAction.PAYMENT_METHOD_PROXY


@sensitive_variables("secret", "values")
def payment_method_values(*, actor: Actor, payment_method: PaymentMethod, names: set[str]) -> dict[str, str]:
    """The value of each placeholder in *names* for *payment_method*; 400 naming any without one."""
    values: dict[str, str | None] = {}
    if names & NETWORK_TOKEN_PLACEHOLDERS:
        secret, cryptogram = network_token_with_cryptogram(actor=actor, payment_method=payment_method, action=ACTION)
        values |= {
            "network_token": secret.token_number,
            "network_token_exp_month": payment_method.network_token_exp_month,
            "network_token_exp_year": payment_method.network_token_exp_year,
            "cryptogram": cryptogram.cryptogram,
            "eci": cryptogram.eci,
        }
        if names & {"card_number"}:
            values["card_number"] = secret.number
    if "card_number" in names and "card_number" not in values:
        values["card_number"] = open_card(actor=actor, action=ACTION, payment_method=payment_method).number
    values |= {
        "card_exp_month": payment_method.expiry_month,
        "card_exp_year": payment_method.expiry_year,
        "card_holder_name": payment_method.card_holder_name,
    }
    missing = sorted(name for name in names if not values.get(name))
    if missing:
        listed = ", ".join("{{$" + name + "}}" for name in missing)
        raise errors.InvalidRequest(f"No value for this payment method: {listed}")
    return {name: str(values[name]) for name in names}


def mask_numbers(text: str, values: dict[str, str]) -> str:
    """*text* with the substituted card and token numbers, and any run of digits that may be a card
    number, shown as their last four digits only."""
    for name in ("card_number", "network_token"):
        if number := values.get(name):
            text = text.replace(number, _masked(number))
    return LONG_DIGIT_RUN.sub(
        lambda run: _masked(run.group()) if may_hold_card_number(run.group()) else run.group(), text
    )


def _masked(run: str) -> str:
    digits = [character for character in run if character.isdigit()]
    return "*" * (len(digits) - 4) + "".join(digits[-4:])
