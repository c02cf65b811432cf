"""Remove the audit rows an export holds, once a superuser confirms with their authenticator code.

    python manage.py prune_audit audit-2025.jsonl --by root

The file's checkpoint signature and every row's MAC are checked, and the database must still hold
exactly those rows, from where the chain starts; then they are removed and the chain re-anchored at
the checkpoint, so `verify_audit` keeps verifying what remains. On PostgreSQL the command needs a
database role allowed to skip the trail's trigger (a superuser): run it with that role's DATABASE_URL.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from audit.actors import operator_actor
from audit.retention import RetentionRefused, read_export, remove_exported
from core.superusers import authenticated_superuser


class Command(BaseCommand):
    help = "Remove the audit rows held by an export_audit file (a superuser confirms); the chain is re-anchored."

    def add_arguments(self, parser):
        parser.add_argument("export", help="the file export_audit wrote")
        parser.add_argument("--by", required=True, help="your console username (a superuser)")
        parser.add_argument("--code", help="a current code from your authenticator (asked for when omitted)")

    def handle(self, *args, export: str, by: str, code: str | None, **options):
        user = authenticated_superuser(by, code)
        try:
            with Path(export).open(encoding="utf-8") as lines:
                checkpoint, rows = read_export(lines)
            removed = remove_exported(
                checkpoint=checkpoint, rows=rows, actor=operator_actor(), approved_by=user.get_username()
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CommandError(f"cannot read {export}: {exc}") from None
        except RetentionRefused as exc:
            raise CommandError(str(exc)) from None
        except DatabaseError as exc:
            raise CommandError(
                f"the database refused the removal ({exc.__class__.__name__}): on PostgreSQL run this command "
                "with a role allowed to set session_replication_role (a superuser's DATABASE_URL)"
            ) from None
        self.stdout.write(
            f"removed {removed} audit row(s), {checkpoint.first_seq}..{checkpoint.last_seq}; the chain now starts "
            f"after row {checkpoint.last_seq}"
        )
