"""Open a payment method's sealed card for an act that needs it (reveal, network token), or fail
cleanly: a card that cannot be decrypted is answered 503, its cause logged and the attempt audited.

Decryption fails when a key the record needs is missing from this instance's keyring (a rotation
not yet rolled out everywhere) or when the stored value was altered. Neither is the caller's fault,
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
from tokens.models import PaymentMethod

logger = logging.getLogger("vault.crypto")


@sensitive_variables("secret")
def open_card(*, actor: Actor, action: AuditAction, payment_method: PaymentMethod) -> CardSecret:
    """The card of *payment_method*; DependencyUnavailable (503), logged and audited, if it cannot be opened."""
    try:
        return crypto.open_sealed(
            payment_method.sealed_card, merchant_id=payment_method.merchant_id, record_id=payment_method.id
        )
    except crypto.DecryptionFailed as exc:
        # The record, the stored key version and what failed: never the value or any key material.
        logger.error(
            "card of %s cannot be decrypted (stored under key-encryption key %r): %s",
            payment_method.id,
            payment_method.kek_version,
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
                details={"reason": "decryption failed", "kek_version": payment_method.kek_version},
            )
        raise errors.DependencyUnavailable("The card data cannot be decrypted at the moment; try again later") from None
