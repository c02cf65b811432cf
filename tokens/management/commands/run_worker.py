import signal
import time

from django.core.management.base import BaseCommand

from audit.access_failures import flush_closed_windows
from tokens.models import PaymentMethod
from tokens.network.services import network_tokens_retry_deletes


class Command(BaseCommand):
    help = (
        "Drain the vault's outbox: delete at the token service the network tokens of deleted cards, every "
        "--interval seconds, until SIGTERM or SIGINT (or once, with --once). API requests only mark them, so "
        "that none waits on the token service."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--interval", type=float, default=10.0, help="seconds between sweeps (default 10)")
        parser.add_argument("--once", action="store_true", help="one sweep, then exit")

    def handle(self, *args, **options) -> None:
        stopping = []
        if not options["once"]:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda signum, frame: stopping.append(signum))
        while True:
            # Refused API requests of minutes already over become their aggregated audit rows.
            flush_closed_windows()
            pending = PaymentMethod.unscoped.filter(network_token_delete_pending=True).count()
            if pending:
                confirmed = network_tokens_retry_deletes()
                self.stdout.write(f"deleted {confirmed} of {pending} network token(s) at the token service")
            if options["once"]:
                return
            deadline = time.monotonic() + max(options["interval"], 0.1)
            while not stopping and time.monotonic() < deadline:
                time.sleep(0.1)
            if stopping:
                self.stdout.write("stopped")
                return
