"""What each placeholder stands for, read from a payment method for one proxy call, and the masking
of those values (and of anything else shaped like a card number) in what the destination answers.

This is the proxy's one reader of plaintext card data (tokens/crypto.py names it): the card is
opened only when a card placeholder is used, and a cryptogram is asked for only when `cryptogram` or
`eci` is.
"""

import re
from typing import Any

from django.views.decorators.debug import sensitive_variables

from audit.actions import AuditAction
from audit.actors import Actor
from core import errors
from core.card_numbers import LONG_DIGIT_RUN, may_hold_card_number
from core.logging import redact
from merchants.models import Merchant
from tokens.card_access import open_card
from tokens.crypto import TokenData
from tokens.models import PaymentMethod
from tokens.network.services import network_token_with_cryptogram
from tokens.services import payment_method_take_cvc

CARD_PLACEHOLDERS = frozenset({"card_number", "card_exp_month", "card_exp_year", "card_holder_name", "card_cvc"})
NETWORK_TOKEN_PLACEHOLDERS = frozenset(
    {"network_token", "network_token_exp_month", "network_token_exp_year", "cryptogram", "eci"}
)
PAYMENT_METHOD_PLACEHOLDERS = CARD_PLACEHOLDERS | NETWORK_TOKEN_PLACEHOLDERS
ACTION = AuditAction.PAYMENT_METHOD_PROXY


@sensitive_variables("secret", "values", "cvc")
def payment_method_values(
    *, actor: Actor, merchant: Merchant, payment_method: PaymentMethod, names: set[str]
) -> dict[str, str]:
    """The value of each placeholder in *names* for *payment_method*; 400 naming any without one.
    A stored CVC is taken last, once every other value is known: taking it destroys it."""
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
    missing = sorted(name for name in names - {"card_cvc"} if not values.get(name))
    if "card_cvc" in names and not missing:
        cvc = payment_method_take_cvc(merchant=merchant, payment_method=payment_method)
        values["card_cvc"] = cvc.cvc if cvc is not None else None
        missing = ["card_cvc"] if cvc is None else []
    if missing:
        listed = ", ".join("{{$" + name + "}}" for name in missing)
        raise errors.InvalidRequest(f"No value for this payment method: {listed}")
    return {name: str(values[name]) for name in names}


_MISSING = object()


@sensitive_variables("data", "document", "values")
def token_document_values(data: TokenData, names: set[str]) -> dict[str, str]:
    """The value at each dotted path in *names* (`account.number`, `owners.0.name`) of a generic
    token's JSON; 400 naming any path that leads nowhere or to an object, a list or null."""
    document, values = data.document, {}
    for name in names:
        value = document
        for part in name.split("."):
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                value = _MISSING
                break
        if value is _MISSING or value is None or isinstance(value, dict | list):
            continue
        values[name] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    missing = sorted(names - set(values))
    if missing:
        listed = ", ".join("{{$" + name + "}}" for name in missing)
        raise errors.InvalidRequest(redact(f"No single value in this token at: {listed}"))
    return values


def hidden_values(values: dict[str, str], *, generic: bool) -> list[str]:
    """The substituted values masked wherever the destination sends them back: the card and token
    numbers, or every value of a generic token long enough to be recognised (six characters or more)."""
    if generic:
        return sorted((value for value in values.values() if len(value) >= 6), key=len, reverse=True)
    return [values[name] for name in ("card_number", "network_token") if values.get(name)]


def mask_document(document: Any, values: dict[str, str], hidden: list[str]) -> Any:
    """A parsed JSON answer with every string masked as text is (an escaped number only shows once
    parsed) and any string or number that is exactly the CVC sent replaced by `***`."""
    cvc = values.get("card_cvc")
    if isinstance(document, str):
        return "***" if cvc and document == cvc else mask_numbers(document, hidden)
    if isinstance(document, int | float) and not isinstance(document, bool):
        return "***" if cvc and str(document) == cvc else document
    if isinstance(document, dict):
        return {key: mask_document(value, values, hidden) for key, value in document.items()}
    if isinstance(document, list):
        return [mask_document(item, values, hidden) for item in document]
    return document


def mask_cvc_text(text: str, values: dict[str, str]) -> str:
    """*text* with the CVC sent, where it stands as a number of its own, replaced by `***`."""
    cvc = values.get("card_cvc")
    return re.sub(rf"(?<![0-9]){re.escape(cvc)}(?![0-9])", "***", text) if cvc else text


def mask_numbers(text: str, hidden: list[str]) -> str:
    """*text* with the *hidden* values, and any run of digits that may be a card number, shown as
    their last four characters only."""
    for value in hidden:
        text = text.replace(value, _masked(value))
    return LONG_DIGIT_RUN.sub(
        lambda run: _masked(run.group()) if may_hold_card_number(run.group()) else run.group(), text
    )


def _masked(run: str) -> str:
    kept = [character for character in run if character.isalnum()]
    return "*" * (len(kept) - 4) + "".join(kept[-4:])
