from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit.actors import operator_actor
from core.errors import VaultError
from merchants.management.commands._options import emit, emit_rows
from merchants.selectors import merchant_get
from proxy.selectors import destination_get, destinations_of
from proxy.services import DestinationRefused, destination_add, destination_approve, destination_revoke

COLUMNS = ["id", "destination", "state", "added_by", "approved_by", "custom_ca"]


class Command(BaseCommand):
    help = (
        "Manage a merchant's proxy allowlist: add a destination (scheme, host and port of a URL; pending "
        "until a second person approves it), approve, revoke or list."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("merchant_id")
        parser.add_argument("url", nargs="?", help="the destination to add, e.g. https://api.processor.example")
        parser.add_argument("--ca-bundle", metavar="FILE", help="PEM certificates that verify this destination")
        parser.add_argument(
            "--single-control",
            action="store_true",
            help="allow the destination at once, without a second person's approval (audited as single control)",
        )
        act = parser.add_mutually_exclusive_group()
        act.add_argument(
            "--approve", type=int, metavar="ID", help="approve a pending destination added by someone else"
        )
        act.add_argument("--revoke", type=int, metavar="ID", help="take a destination off the allowlist")
        act.add_argument("--list", action="store_true", help="list the merchant's destinations")
        parser.add_argument("--json", action="store_true", help="print JSON lines")

    def handle(self, *args, **options) -> None:
        merchant = merchant_get(merchant_id=options["merchant_id"])
        if merchant is None:
            raise CommandError(f"no merchant {options['merchant_id']!r}")
        if options["list"]:
            emit_rows(self, options, [_row(item) for item in destinations_of(merchant=merchant)], COLUMNS)
            return
        try:
            destination = self._act(merchant, options)
        except (DestinationRefused, VaultError) as exc:
            raise CommandError(str(exc)) from None
        row = _row(destination)
        lines = [f"{name + ':':13} {row[name]}" for name in COLUMNS]
        if destination.state == destination.State.PENDING:
            lines.append("It receives nothing until a second person approves it (console, or --approve).")
        emit(self, options, row, lines)

    def _act(self, merchant, options):
        actor = operator_actor()
        for flag, service in (("approve", destination_approve), ("revoke", destination_revoke)):
            if options[flag] is not None:
                destination = destination_get(merchant=merchant, destination_id=options[flag])
                if destination is None:
                    raise CommandError(f"merchant {merchant.id} has no destination {options[flag]}")
                return service(actor=actor, destination=destination)
        if not options["url"]:
            raise CommandError("give a URL to add, or one of --approve, --revoke, --list")
        ca_bundle = Path(options["ca_bundle"]).read_text() if options["ca_bundle"] else ""
        return destination_add(
            actor=actor,
            merchant=merchant,
            url=options["url"],
            ca_bundle=ca_bundle,
            single_control=options["single_control"],
        )


def _row(destination) -> dict:
    return {
        "id": destination.pk,
        "destination": destination.origin,
        "state": destination.state,
        "added_by": destination.added_by,
        "approved_by": destination.approved_by or "-",
        "custom_ca": bool(destination.ca_bundle),
    }
