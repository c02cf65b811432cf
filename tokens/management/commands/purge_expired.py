from django.core.management.base import BaseCommand

from audit.actors import operator_actor
from idempotency.services import idempotency_purge_expired
from tokens.services import payment_methods_purge_expired


class Command(BaseCommand):
    help = (
        "Delete volatile payment methods past their lifetime, with their ciphertext and data keys, and "
        "idempotency records past theirs."
    )

    def handle(self, *args, **options) -> None:
        count = payment_methods_purge_expired(actor=operator_actor())
        self.stdout.write(f"purged {count} expired volatile payment method(s)")
        self.stdout.write(f"purged {idempotency_purge_expired()} expired idempotency record(s)")
