"""Two boundaries a reviewer cannot keep by eye, checked by `make lint`.

Tenancy: rows of a merchant-owned model (see core/tenancy.py) are reached through a manager only in
selectors, services and models; the jobs that legitimately cross merchants use the manager named
`unscoped`, never the default one. Views, serializers, console pages and everything else go
through a selector, which scopes with `for_merchant()`.

Card numbers: a CardSecret's `number` and `token_number` are read only by the modules named in
tokens/crypto.py's docstring; everything else asks the secret for `isin`, `last4`, `network` or
`masked`.

Usage: python scripts/lint_boundaries.py [ROOT]  — prints each offending line; exits 1 if there is one.
"""

import ast
import os
import sys
from collections.abc import Iterator
from pathlib import Path

MERCHANT_OWNED = frozenset(
    {"Customer", "PaymentMethod", "MerchantKey", "MerchantShredRequest", "ProxyDestination", "GenericToken"}
)
MANAGERS = frozenset({"objects", "unscoped", "_default_manager", "_base_manager"})
# Modules whose purpose is to query: selectors, services, and the models themselves.
QUERY_MODULES = frozenset(
    {
        "selectors.py",
        "services.py",
        "customer_services.py",
        "generic_token_services.py",
        "merchant_keys.py",
        "shredding.py",
        "models.py",
    }
)
# Jobs that cross merchants on purpose; they may use `unscoped` and nothing else.
CROSS_MERCHANT_JOBS = ("tokens/rotation.py", "/management/commands/")

CARD_NUMBER_ATTRIBUTES = frozenset({"number", "token_number", "cvc", "document"})
CARD_NUMBER_READERS = frozenset(
    {"tokens/crypto.py", "tokens/network/client.py", "api/payment_methods/serializers.py", "proxy/token_values.py"}
)

# Tests and benchmarks inspect the database and the plaintext on purpose; migrations describe the
# schema; the token-service simulator is the other side of the wire.
SKIPPED_DIRECTORIES = frozenset({"tests", "bench", "scripts", "migrations", "node_modules", "__pycache__"})
SKIPPED_FILES = frozenset({"tokens/network/simulator.py"})


def _manager_use(node: ast.AST) -> str | None:
    """`Model.manager` when *node* reaches a merchant-owned model through a manager, else None."""
    if (
        isinstance(node, ast.Attribute)
        and node.attr in MANAGERS
        and isinstance(node.value, ast.Name)
        and node.value.id in MERCHANT_OWNED
    ):
        return f"{node.value.id}.{node.attr}"
    return None


def tenancy_violations(relative: str, tree: ast.AST) -> Iterator[tuple[int, str]]:
    in_query_module = Path(relative).name in QUERY_MODULES
    in_job = any(marker in f"/{relative}" for marker in CROSS_MERCHANT_JOBS)
    for node in ast.walk(tree):
        manager = _manager_use(node)
        if manager is None or in_query_module:
            continue
        model, _, name = manager.partition(".")
        line = getattr(node, "lineno", 0)
        if in_job and name != "unscoped":
            yield line, f"{manager}: a cross-merchant job says so with `{model}.unscoped`"
        elif not in_job:
            yield line, f"{manager}: reach merchant rows through a selector (for_merchant), not here"


def card_number_violations(relative: str, tree: ast.AST) -> Iterator[tuple[int, str]]:
    if relative in CARD_NUMBER_READERS:
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in CARD_NUMBER_ATTRIBUTES and isinstance(node.ctx, ast.Load):
            yield node.lineno, f".{node.attr}: only the readers named in tokens/crypto.py read a card number"


def violations(relative: str, source: str) -> Iterator[tuple[int, str]]:
    tree = ast.parse(source, filename=relative)
    yield from tenancy_violations(relative, tree)
    yield from card_number_violations(relative, tree)


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
        relative = path.relative_to(root).as_posix()
        if relative in SKIPPED_FILES:
            continue
        for line, message in violations(relative, path.read_text()):
            print(f"{relative}:{line}: {message}")  # noqa: T201 - a command-line check
            found += 1
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
