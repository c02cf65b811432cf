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
