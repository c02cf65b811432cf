"""Export the audit trail's oldest rows to a JSON-lines file ending in a signed checkpoint.

    python manage.py export_audit --before 2026-01-01 --output audit-2025.jsonl

Nothing is removed: keep the file where the database's administrators cannot change it, then a
superuser may remove those rows with `prune_audit audit-2025.jsonl`.
"""

from datetime import UTC, datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from audit.retention import RetentionRefused, export_before
from audit.sealing import seal_pending


def _instant(value: str) -> datetime:
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise CommandError("--before must be a date (YYYY-MM-DD) or an ISO-8601 date and time")
        moment = datetime(day.year, day.month, day.day)
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = "Write the audit rows older than --before (from where the chain starts) to a file, with a signed checkpoint."

    def add_arguments(self, parser):
        parser.add_argument("--before", required=True, help="a date or ISO-8601 time (UTC unless it says otherwise)")
        parser.add_argument("--output", required=True, help="the file to write (refused if it exists)")

    def handle(self, *args, before: str, output: str, **options):
        path = Path(output)
        if path.exists():
            raise CommandError(f"{path} exists: choose another file")
        partial = path.with_name(path.name + ".partial")
        # Rows still waiting for their place are given it first, so the export leaves none behind.
        refused = seal_pending().refused_id
        if refused is not None:
            raise CommandError(f"audit row id {refused} does not match its MAC: run verify_audit; nothing exported")
        try:
            with partial.open("x", encoding="utf-8") as out:
                checkpoint = export_before(before=_instant(before), out=out)
        except RetentionRefused as exc:
            partial.unlink(missing_ok=True)
            raise CommandError(str(exc)) from None
        if checkpoint is None:
            partial.unlink()
            self.stdout.write("no audit row is that old: nothing exported")
            return
        partial.rename(path)
        self.stdout.write(
            f"exported rows {checkpoint.first_seq}..{checkpoint.last_seq} ({checkpoint.rows}) to {path}; "
            "nothing was removed"
        )
