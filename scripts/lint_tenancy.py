"""Refuse merchant-owned rows reached around the selectors (run by `make lint`).

Rows of a merchant-owned model (see core/tenancy.py) are reached through a manager only in
selectors, services and models; the jobs that legitimately cross merchants use the manager named
`unscoped`, never the default one. Views, serializers, console pages and everything else go
through a selector, which scopes with `for_merchant()`.

Usage: python scripts/lint_tenancy.py [ROOT]  — prints each offending line; exits 1 if there is one.
"""

import ast
import os
import sys
from collections.abc import Iterator
from pathlib import Path

MERCHANT_OWNED = frozenset({"Customer", "PaymentMethod"})
MANAGERS = frozenset({"objects", "unscoped", "_default_manager", "_base_manager"})
# Modules whose purpose is to query: selectors, services, and the models themselves.
QUERY_MODULES = frozenset({"selectors.py", "services.py", "customer_services.py", "models.py"})
# Jobs that cross merchants on purpose; they may use `unscoped` and nothing else.
CROSS_MERCHANT_JOBS = ("tokens/rotation.py", "/management/commands/")
# Tests and benchmarks inspect the database on purpose; migrations describe it.
SKIPPED_DIRECTORIES = frozenset({"tests", "bench", "scripts", "migrations", "node_modules", "__pycache__"})


def violations(path: Path, source: str) -> Iterator[tuple[int, str]]:
    relative = path.as_posix()
    in_query_module = path.name in QUERY_MODULES
    in_job = any(marker in f"/{relative}" for marker in CROSS_MERCHANT_JOBS)
    for node in ast.walk(ast.parse(source, filename=relative)):
        if not (
            isinstance(node, ast.Attribute)
            and node.attr in MANAGERS
            and isinstance(node.value, ast.Name)
            and node.value.id in MERCHANT_OWNED
        ):
            continue
        manager = f"{node.value.id}.{node.attr}"
        if in_query_module:
            continue
        if in_job and node.attr == "unscoped":
            continue
        if in_job:
            yield node.lineno, f"{manager}: a cross-merchant job says so with `{node.value.id}.unscoped`"
        else:
            yield node.lineno, f"{manager}: reach merchant rows through a selector (for_merchant), not here"


def python_files(root: Path) -> Iterator[Path]:
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = sorted(
            name for name in subdirectories if name not in SKIPPED_DIRECTORIES and not name.startswith(".")
        )
        for name in sorted(files):
            if name.endswith(".py"):
                yield Path(directory) / name


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent
    found = 0
    for path in python_files(root):
        relative = path.relative_to(root)
        for line, message in violations(relative, path.read_text()):
            print(f"{relative}:{line}: {message}")  # noqa: T201 - a command-line check
            found += 1
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
