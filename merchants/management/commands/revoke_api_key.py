from django.core.management.base import BaseCommand, CommandError

from audit.actors import operator_actor
from merchants.keys import parse_key_id
from merchants.management.commands._options import emit
from merchants.selectors import api_key_get
from merchants.services import api_key_revoke


class Command(BaseCommand):
    help = "Revoke an API key by its key id; the next request with it fails."

    def add_arguments(self, parser) -> None:
        parser.add_argument("key_id", help="the key id (the part after `vlt_`, before the next `_`), or the whole key")
        parser.add_argument("--json", action="store_true", help="print one JSON line")

    def handle(self, *args, **options) -> None:
        # Accept a whole key pasted by mistake, and never print it back.
        key_id = parse_key_id(options["key_id"]) or options["key_id"]
        api_key = api_key_get(key_id=key_id)
        if api_key is None:
            raise CommandError("no API key with that key id")
        api_key = api_key_revoke(actor=operator_actor(), api_key=api_key)
        emit(
            self,
            options,
            {"key_id": api_key.key_id, "revoked_at": api_key.revoked_at.isoformat()},
            [f"revoked {api_key.key_id} at {api_key.revoked_at.isoformat()}"],
        )
