"""Count the SQL statements of one request per scenario, under three rate-limit configurations.

Run by bench/run.py against its database (the environment names the key, profile and ids). Goes
through Django's test client and the whole middleware stack; one warm-up request precedes each
counted one, so a key's once-a-minute last_used_at write does not show. Prints one JSON line.
"""

import json
import os
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vault_project.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402

from core.card_numbers import luhn_complete  # noqa: E402

KEY, PROFILE = os.environ["BENCH_API_KEY"], os.environ["BENCH_PROFILE_ID"]
REVEAL_KEY = os.environ["BENCH_REVEAL_KEY"]
PM_ID = os.environ["BENCH_PM_ID"]
LIST_CUSTOMER, CUSTOMER = os.environ["BENCH_LIST_CUSTOMER_ID"], os.environ["BENCH_CUSTOMER_ID"]
CONFIGURATIONS = {
    "redis": {
        "REDIS_URL": os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/14",
        "VAULT_RATE_LIMIT_PER_MINUTE": 10**9,
    },
    "database": {"REDIS_URL": "", "VAULT_RATE_LIMIT_PER_MINUTE": 10**9},
    "off": {"REDIS_URL": "", "VAULT_RATE_LIMIT_PER_MINUTE": 0},
}


def card_number() -> str:
    partial = f"48{secrets.randbelow(10**13):013d}"
    return luhn_complete(partial)


def card_body() -> str:
    return json.dumps(
        {
            "customer_id": CUSTOMER,
            "payment_method_type": "card",
            "payment_method_subtype": "credit",
            "payment_method_data": {
                "card": {
                    "card_number": card_number(),
                    "card_exp_month": "12",
                    "card_exp_year": "2035",
                    "card_holder_name": "Bench Customer",
                    "card_cvc": "123",
                }
            },
            "storage_type": "persistent",
        }
    )


def call(client: Client, method: str, path: str, body: str = "", key: str = KEY):
    response = client.generic(
        method, path, data=body, content_type="application/json", headers={"api-key": key, "X-Profile-Id": PROFILE}
    )
    if response.status_code != 200:
        raise SystemExit(f"{method} {path}: {response.status_code} {response.content[:300]!r}")
    return response


def scenarios(client: Client):
    """(name, a function making one request of the scenario)."""

    def create():
        return call(client, "POST", "/payment_methods", card_body())

    def delete():
        payment_method_id = create().json()["id"]

        def run():
            return call(client, "DELETE", f"/payment_methods/{payment_method_id}")

        return run

    return [
        ("customer create", lambda: call(client, "POST", "/customers", '{"name": "Q", "email": "q@example.com"}')),
        ("create", create),
        ("retrieve", lambda: call(client, "GET", f"/payment_methods/{PM_ID}")),
        ("reveal", lambda: call(client, "GET", f"/payment_methods/{PM_ID}?fetch_raw_detail=true", key=REVEAL_KEY)),
        (
            "update",
            lambda: call(
                client,
                "PATCH",
                f"/payment_methods/{PM_ID}/update_saved_payment_method",
                '{"payment_method_data": {"card": {"nick_name": "q"}}}',
            ),
        ),
        ("list (10 cards)", lambda: call(client, "GET", f"/customers/{LIST_CUSTOMER}/saved_payment_methods")),
        ("delete", delete),
    ]


def main() -> None:
    client = Client()
    out: dict[str, dict] = {}
    for configuration, overrides in CONFIGURATIONS.items():
        out[configuration] = {}
        with override_settings(**overrides):
            for name, make in scenarios(client):
                if name == "delete":
                    make()()  # warm-up: a create and a delete
                    run = make()  # creates the card that the counted request deletes
                else:
                    make()
                    run = make
                with CaptureQueriesContext(connection) as captured:
                    run()
                out[configuration][name] = {
                    "count": len(captured.captured_queries),
                    "sql": [query["sql"] for query in captured.captured_queries],
                }
    print("QUERIES_JSON " + json.dumps(out))  # noqa: T201


if __name__ == "__main__":
    main()
