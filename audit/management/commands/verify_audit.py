"""Check the audit trail's chain of MACs: exit 0 if every row checks out, else name the first bad one
and exit 1. Rows still waiting for their place in the chain are checked against their own MACs.
Read-only: it never seals, so it can run against a standby.

    python manage.py verify_audit
"""

import time

from django.core.management.base import BaseCommand, CommandError

from audit.chain import verify_chain


class Command(BaseCommand):
    help = "Verify the audit trail's chain of MACs; exit 1 at the first changed, inserted or missing row."

    def handle(self, *args, **options):
        started = time.monotonic()
        verdict = verify_chain()
        elapsed = time.monotonic() - started
        rate = verdict.checked / elapsed if elapsed > 0 else 0
        self.stdout.write(f"checked {verdict.checked} row(s) in {elapsed:.1f} s ({rate:,.0f} rows/s)")
        if verdict.problem:
            raise CommandError(f"the audit trail does not verify: {verdict.problem}")
        if verdict.unchained:
            self.stdout.write(
                f"{verdict.unchained} newer row(s) wait for their place in the chain (run_worker gives it); "
                "each matches its own MAC"
            )
        self.stdout.write("the audit trail verifies: no row changed, inserted or removed")
