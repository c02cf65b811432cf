"""Options and output shared by the operator commands."""

import json
from datetime import UTC, datetime, timedelta

from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from merchants.scopes import ALL_SCOPES, DEFAULT_SCOPES


def add_scope_argument(parser) -> None:
    parser.add_argument(
        "--scopes",
        nargs="+",
        choices=ALL_SCOPES,
        default=list(DEFAULT_SCOPES),
        metavar="SCOPE",
        help=f"scopes of the key (default: all but reveal). Known: {', '.join(ALL_SCOPES)}",
    )


def add_single_control_argument(parser) -> None:
    parser.add_argument(
        "--single-control",
        action="store_true",
        help="let a key with payment_methods:reveal work at once, without a second person's approval in "
        "the console (for bootstrapping an installation; audited as single control)",
    )


def key_status_lines(api_key) -> list[str]:
    if api_key.approved_at is not None:
        return []
    return [
        "status:     pending approval: it authenticates nothing until a second person approves it",
        '            in the console (API keys, action "Approve").',
    ]


def add_expiry_arguments(parser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--expires-in-days", type=int, metavar="DAYS", help="the key expires after DAYS days")
    group.add_argument("--expires-at", metavar="ISO8601", help="the key expires at this time (UTC if no offset)")


def expiry_from(options) -> datetime | None:
    if options.get("expires_in_days") is not None:
        if options["expires_in_days"] <= 0:
            raise CommandError("--expires-in-days must be positive")
        return timezone.now() + timedelta(days=options["expires_in_days"])
    if options.get("expires_at"):
        value = parse_datetime(options["expires_at"])
        if value is None:
            raise CommandError("--expires-at must be an ISO-8601 date and time")
        return value if timezone.is_aware(value) else timezone.make_aware(value, UTC)
    return None


def emit(command, options, data: dict, lines: list[str]) -> None:
    """Print *data* as one JSON line with --json, else *lines* for a person."""
    if options.get("json"):
        command.stdout.write(json.dumps(data))
    else:
        for line in lines:
            command.stdout.write(line)


KEY_SHOWN_ONCE = "Store the API key now: it is shown only this once and cannot be recovered."


def emit_rows(command, options, rows: list[dict], columns: list[str]) -> None:
    """Print *rows* as JSON lines with --json, else as an aligned table of *columns*."""
    if options.get("json"):
        for row in rows:
            command.stdout.write(json.dumps(row))
        return
    if not rows:
        command.stdout.write("(none)")
        return

    def cell(value) -> str:
        if value is None:
            return "—"
        return ",".join(value) if isinstance(value, list) else str(value)

    widths = {name: max(len(name), *(len(cell(row[name])) for row in rows)) for name in columns}
    command.stdout.write("  ".join(name.ljust(widths[name]) for name in columns).rstrip())
    for row in rows:
        command.stdout.write("  ".join(cell(row[name]).ljust(widths[name]) for name in columns).rstrip())
