from django.core.management.base import BaseCommand

from merchants.management.commands._options import emit_rows
from merchants.selectors import merchants_list


class Command(BaseCommand):
    help = "List merchants: id, name, rate limit, profiles and live keys."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", action="store_true", help="print one JSON object per line")

    def handle(self, *args, **options) -> None:
        rows = [
            {
                "merchant_id": merchant.id,
                "name": merchant.name,
                "rate_limit_per_minute": merchant.rate_limit_per_minute,
                "profiles": merchant.profile_total,
                "live_keys": merchant.live_key_total,
                "created_at": merchant.created_at.isoformat(),
            }
            for merchant in merchants_list()
        ]
        emit_rows(self, options, rows, ["merchant_id", "name", "rate_limit_per_minute", "profiles", "live_keys"])
