"""How fast `verify_audit` walks the audit trail's chain of MACs, on PostgreSQL at 127.0.0.1.

    make bench-audit                       # 1,000,000 rows
    .venv/bin/python bench/audit_chain.py --rows 100000

A scratch database (vault_bench_audit) is migrated, filled with chained rows as `audit_record` writes
them (same fields, same MACs, inserted in batches), then `manage.py verify_audit` runs as its own
process and is timed; a table is printed and the database dropped.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from run import PY, check_local, drop_database, recreate_database, vault_env  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/vault_bench_audit"
BATCH = 10_000


def seed(database_url: str, rows: int) -> float:
    """Insert *rows* chained audit rows; answer the seconds it took."""
    os.environ.update(vault_env(database_url))
    os.environ["DJANGO_SETTINGS_MODULE"] = "vault_project.settings"
    import django

    django.setup()
    from django.db import connection, transaction
    from django.utils import timezone

    from audit import chain
    from audit.models import AuditChainHead

    started = time.monotonic()
    columns = ("occurred_at", "actor_kind", "actor_id", "merchant_id", "action", "object_type", "object_id",
               "outcome", "request_id", "origin", "details", "seq", "mac")  # fmt: skip
    placeholders = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO audit_auditevent ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608 - fixed names
    previous, seq = "", 0
    while seq < rows:
        batch = []
        for _ in range(min(BATCH, rows - seq)):
            seq += 1
            fields = {
                "occurred_at": timezone.now(),
                "actor_kind": "api_key",
                "actor_id": "k3y1d0000000000",
                "merchant_id": "mer_bench000000000000",
                "action": "payment_method.create",
                "object_type": "payment_method",
                "object_id": f"01_pm_{seq:032x}",
                "outcome": "success",
                "request_id": f"{seq:032x}",
                "origin": "127.0.0.1",
                "details": {"network": "Visa", "storage_type": "persistent"},
                "seq": seq,
            }
            fields["mac"] = previous = chain.row_mac(fields, previous)
            fields["details"] = json.dumps(fields["details"])
            batch.append(tuple(fields[column] for column in columns))
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, batch)
    AuditChainHead.objects.update_or_create(pk=1, defaults={"seq": seq, "mac": previous})
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_AUDIT_DATABASE_URL", DEFAULT_DB))
    options = parser.parse_args()
    check_local(options.database_url)
    recreate_database(options.database_url)
    try:
        env = vault_env(options.database_url)
        subprocess.run([PY, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True,  # noqa: S603
                       capture_output=True)  # fmt: skip
        seconds = seed(options.database_url, options.rows)
        started = time.monotonic()
        done = subprocess.run([PY, "manage.py", "verify_audit"], cwd=ROOT, env=env,  # noqa: S603
                              capture_output=True, text=True, check=False)  # fmt: skip
        wall = time.monotonic() - started
        if done.returncode != 0:
            sys.exit(f"verify_audit failed:\n{done.stdout}\n{done.stderr[-2000:]}")
        print("| rows | seeded in | verify_audit (wall, process start included) | rows/s |")  # noqa: T201
        print("|---:|---:|---:|---:|")  # noqa: T201
        print(f"| {options.rows:,} | {seconds:.1f} s | {wall:.1f} s | {options.rows / wall:,.0f} |")  # noqa: T201
        print(f"\nverify_audit said: {done.stdout.strip().splitlines()[0]}")  # noqa: T201
    finally:
        drop_database(options.database_url)


if __name__ == "__main__":
    main()
