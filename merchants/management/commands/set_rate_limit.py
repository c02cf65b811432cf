from django.core.management.base import BaseCommand, CommandError

from audit.actors import operator_actor
from merchants.management.commands._options import emit
from merchants.selectors import merchant_get
from merchants.services import merchant_set_rate_limit


def _limit(value: str) -> int | None:
    if value == "default":
        return None
    if not value.isascii() or not value.isdigit():
        raise CommandError("the limit is a whole number of requests a minute (0: no limit), or 'default'")
    return int(value)


class Command(BaseCommand):
    help = (
        "Set a merchant's API requests per minute (0: no limit; 'default': VAULT_RATE_LIMIT_PER_MINUTE). "
        "Every instance applies it within a second."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("merchant_id")
        parser.add_argument("limit", help="requests per minute, or 'default'")
        parser.add_argument("--json", action="store_true", help="print one JSON line")

    def handle(self, *args, **options) -> None:
        limit = _limit(options["limit"])
        merchant = merchant_get(merchant_id=options["merchant_id"])
        if merchant is None:
            raise CommandError(f"no merchant {options['merchant_id']!r}")
        merchant = merchant_set_rate_limit(actor=operator_actor(), merchant=merchant, per_minute=limit)
        shown = "the installation's default" if limit is None else f"{limit} request(s) a minute"
        emit(
            self,
            options,
            {"merchant_id": merchant.id, "rate_limit_per_minute": merchant.rate_limit_per_minute},
            [f"{merchant.id}: {shown}"],
        )
