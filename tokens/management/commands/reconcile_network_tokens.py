from django.core.management.base import BaseCommand, CommandError

from audit.actors import operator_actor
from tokens.network.client import TokenServiceError
from tokens.network.services import network_tokens_reconcile


class Command(BaseCommand):
    help = (
        "Find the tokens the token service holds for this vault that no card knows (say, issued for a "
        "create that timed out, whose card was then deleted) and delete them there. --dry-run only counts."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count the unknown tokens, delete nothing")

    def handle(self, *args, **options) -> None:
        try:
            result = network_tokens_reconcile(actor=operator_actor(), dry_run=options["dry_run"])
        except TokenServiceError as exc:
            raise CommandError(f"the token service could not be read: {exc}") from None
        done = f"would delete {result.unknown}" if options["dry_run"] else f"deleted {result.deleted}"
        self.stdout.write(
            f"checked {result.checked} token(s) at the token service; {result.unknown} unknown to the vault; {done}"
        )
