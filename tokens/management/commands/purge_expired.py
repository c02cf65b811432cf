from django.core.management.base import BaseCommand, CommandError

from audit.access_failures import flush_closed_windows
from audit.actors import operator_actor
from audit.sealing import seal_pending
from idempotency.services import idempotency_purge_expired
from merchants.rate_limits import purge_old_windows
from tokens.instances import instances_forget_gone
from tokens.models import PaymentMethod
from tokens.network.services import network_token_events_purge, network_tokens_retry_deletes
from tokens.services import cvcs_purge_expired, payment_methods_purge_expired


class Command(BaseCommand):
    help = (
        "Delete volatile payment methods past their lifetime, with their ciphertext and data keys, and "
        "idempotency records past theirs; retry deleting network tokens of deleted cards at the token service."
    )

    def handle(self, *args, **options) -> None:
        count = payment_methods_purge_expired(actor=operator_actor())
        self.stdout.write(f"purged {count} expired volatile payment method(s)")
        self.stdout.write(f"destroyed {cvcs_purge_expired()} expired stored CVC(s)")
        self.stdout.write(f"purged {idempotency_purge_expired()} expired idempotency record(s)")
        self.stdout.write(f"purged {purge_old_windows()} finished rate-limit window(s)")
        self.stdout.write(f"purged {network_token_events_purge()} received token lifecycle event id(s)")
        self.stdout.write(f"forgot {instances_forget_gone()} instance(s) not seen for a day")
        self.stdout.write(f"wrote {flush_closed_windows()} audit row(s) of refused API requests")
        # What run_worker does every second, as a backstop: no audit row waits past this run.
        self.stdout.write(f"gave {seal_pending().rows} audit row(s) their place in the chain")
        pending = PaymentMethod.unscoped.filter(network_token_delete_pending=True).count()
        confirmed = network_tokens_retry_deletes()
        self.stdout.write(f"deleted {confirmed} of {pending} network token(s) awaiting deletion at the token service")
        if confirmed < pending:
            # Exit 1, so that cron or a monitor notices tokens still live at the token service.
            raise CommandError(
                f"{pending - confirmed} network token deletion(s) not confirmed by the token service; "
                "they are retried on the next run"
            )
