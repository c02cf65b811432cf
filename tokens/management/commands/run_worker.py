import logging
import signal
import time

from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections, connection

from audit.access_failures import flush_closed_windows
from audit.sealing import seal_pending
from tokens.models import PaymentMethod
from tokens.network.services import network_tokens_retry_deletes

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "The vault's background work, until SIGTERM or SIGINT (or once, with --once): give new audit rows "
        "their place in the chain every --seal-interval seconds; every --interval seconds, write the audit "
        "rows of refused API requests and delete at the token service the network tokens of deleted cards "
        "(API requests only mark them, so that none waits on the token service)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--interval", type=float, default=10.0, help="seconds between sweeps (default 10)")
        parser.add_argument(
            "--seal-interval", type=float, default=1.0, help="seconds between audit chain seals (default 1)"
        )
        parser.add_argument("--once", action="store_true", help="one seal and one sweep, then exit")

    def handle(self, *args, **options) -> None:
        stopping = []
        if not options["once"]:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda signum, frame: stopping.append(signum))
        next_seal = next_sweep = time.monotonic()
        while not stopping:
            now = time.monotonic()
            try:
                if now >= next_sweep:
                    next_sweep = now + max(options["interval"], 0.1)
                    self.sweep()
                if now >= next_seal:
                    next_seal = now + max(options["seal_interval"], 0.1)
                    # After the sweep: the refused-request rows it wrote join the chain at once.
                    seal_pending(wait=False)
            except DatabaseError as exc:
                if options["once"]:
                    raise
                # The database restarted or refused: drop the connection and try again next time.
                logger.error("run_worker: the database refused (%s); retrying", type(exc).__name__)
                close_old_connections()
                connection.close()
            if options["once"]:
                return
            time.sleep(0.1)
        self.stdout.write("stopped")

    def sweep(self) -> None:
        # Refused API requests of minutes already over become their aggregated audit rows.
        flush_closed_windows()
        pending = PaymentMethod.unscoped.filter(network_token_delete_pending=True).count()
        if pending:
            confirmed = network_tokens_retry_deletes()
            self.stdout.write(f"deleted {confirmed} of {pending} network token(s) at the token service")
