"""Open a payment method's sealed card for an act that needs it (reveal, network token), or fail
cleanly: a card that cannot be decrypted is answered 503, its cause logged and the attempt audited.

Decryption fails when a key the record needs is missing (a legacy KEK absent from this instance's
keyring, a root key absent from its provider, a merchant key destroyed) or when the stored value
was altered. Neither is the caller's fault,
and neither may become a 500 or a silent miss.
"""

import logging

from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from audit.actions import AuditAction
from audit.actors import Actor
from audit.models import AuditEvent
from audit.services import audit_record
from core import errors
from tokens import crypto
from tokens.crypto import CardSecret
from tokens.keys import KeyProviderUnavailable
from tokens.models import PaymentMethod

logger = logging.getLogger("vault.crypto")


@sensitive_variables("secret")
def open_card(*, actor: Actor, action: AuditAction, payment_method: PaymentMethod) -> CardSecret:
    """The card of *payment_method*; DependencyUnavailable (503), logged and audited, if it cannot be opened,
    be it for want of a key or because the key provider (an HSM, KMS) cannot be reached now."""
    key = (
        f"merchant key {payment_method.merchant_key_version}"
        if payment_method.merchant_key_version
        else f"legacy key-encryption key {payment_method.kek_version!r}"
    )
    try:
        return crypto.open_sealed(
            payment_method.sealed_card, merchant_id=payment_method.merchant_id, record_id=payment_method.id
        )
    except (crypto.DecryptionFailed, KeyProviderUnavailable) as exc:
        # The record, the stored key version and what failed: never the value or any key material.
        unavailable = isinstance(exc, KeyProviderUnavailable)
        logger.log(
            logging.WARNING if unavailable else logging.ERROR,
            "card of %s cannot be decrypted (stored under %s): %s",
            payment_method.id,
            key,
            exc,
        )
        with transaction.atomic():
            audit_record(
                actor=actor,
                action=action,
                object_type="payment_method",
                object_id=payment_method.id,
                merchant_id=payment_method.merchant_id,
                outcome=AuditEvent.Outcome.FAILURE,
                details={"reason": "key provider unavailable" if unavailable else "decryption failed", "key": key},
            )
        raise errors.DependencyUnavailable("The card data cannot be decrypted at the moment; try again later") from None
