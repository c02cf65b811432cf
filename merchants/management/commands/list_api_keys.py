from django.core.management.base import BaseCommand, CommandError

from merchants.management.commands._options import emit_rows
from merchants.selectors import api_keys_list, merchant_get


class Command(BaseCommand):
    help = "List API keys (key id, merchant, name, scopes, status), of one merchant or of all. Never a secret."

    def add_arguments(self, parser) -> None:
        parser.add_argument("merchant_id", nargs="?", help="only this merchant's keys")
        parser.add_argument("--json", action="store_true", help="print one JSON object per line")

    def handle(self, *args, **options) -> None:
        merchant = None
        if options["merchant_id"]:
            merchant = merchant_get(merchant_id=options["merchant_id"])
            if merchant is None:
                raise CommandError(f"no merchant {options['merchant_id']!r}")
        rows = [
            {
                "key_id": api_key.key_id,
                "merchant_id": api_key.merchant_id,
                "name": api_key.name,
                "scopes": api_key.scopes,
                "status": api_key.state.value,
                "created_at": api_key.created_at.isoformat(),
                "expires_at": api_key.expires_at.isoformat() if api_key.expires_at else None,
                "last_used_at": api_key.last_used_at.isoformat() if api_key.last_used_at else None,
            }
            for api_key in api_keys_list(merchant=merchant)
        ]
        emit_rows(self, options, rows, ["key_id", "merchant_id", "status", "name", "scopes"])
