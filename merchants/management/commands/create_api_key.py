from django.core.management.base import BaseCommand, CommandError

from audit.actors import operator_actor
from merchants.management.commands._options import (
    KEY_SHOWN_ONCE,
    add_expiry_arguments,
    add_scope_argument,
    add_single_control_argument,
    emit,
    expiry_from,
    key_status_lines,
)
from merchants.selectors import merchant_get
from merchants.services import api_key_issue


class Command(BaseCommand):
    help = "Issue an API key for a merchant and print it (only this once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("merchant_id")
        parser.add_argument("--name", default="", help="a label for the key")
        add_scope_argument(parser)
        add_expiry_arguments(parser)
        add_single_control_argument(parser)
        parser.add_argument("--json", action="store_true", help="print one JSON line")

    def handle(self, *args, **options) -> None:
        merchant = merchant_get(merchant_id=options["merchant_id"])
        if merchant is None:
            raise CommandError(f"no merchant {options['merchant_id']!r}")
        try:
            issued = api_key_issue(
                actor=operator_actor(),
                merchant=merchant,
                scopes=options["scopes"],
                name=options["name"],
                expires_at=expiry_from(options),
                single_control=options["single_control"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        key = issued.api_key
        expires = key.expires_at.isoformat() if key.expires_at else None
        emit(
            self,
            options,
            {
                "merchant_id": merchant.id,
                "key_id": key.key_id,
                "api_key": issued.plaintext,
                "scopes": key.scopes,
                "expires_at": expires,
                "status": key.state.value,
            },
            [
                f"key_id:     {key.key_id}",
                f"api_key:    {issued.plaintext}",
                f"scopes:     {' '.join(key.scopes)}",
                f"expires_at: {expires or 'never'}",
                *key_status_lines(key),
                KEY_SHOWN_ONCE,
            ],
        )
