"""Shorten stored `card_isin` and `network_token_isin` to what a masked number may show.

The vault now shows at most half of a number's digits (its last four and up to six leading ones).
A stored row no longer knows its number's length, so it keeps as many leading digits as the
shortest number of its network allows: never more than the rule, sometimes fewer.
"""

from django.db import migrations

from core.card_numbers import network_lengths
from tokens.cards import visible_lead_length

BATCH = 2000


def stored_lead_length(stored_isin: str) -> int:
    return visible_lead_length(min(network_lengths(stored_isin)))


def shorten(apps, schema_editor):
    PaymentMethod = apps.get_model("tokens", "PaymentMethod")
    for field in ("card_isin", "network_token_isin"):
        rows = PaymentMethod.objects.exclude(**{field: None}).exclude(**{field: ""}).only("pk", field)
        pending = []
        for row in rows.iterator(chunk_size=BATCH):
            stored = getattr(row, field)
            shortened = stored[: stored_lead_length(stored)]
            if shortened != stored:
                setattr(row, field, shortened)
                pending.append(row)
            if len(pending) >= BATCH:
                PaymentMethod.objects.bulk_update(pending, [field])
                pending = []
        if pending:
            PaymentMethod.objects.bulk_update(pending, [field])


class Migration(migrations.Migration):
    dependencies = [("tokens", "0002_network_tokens")]

    operations = [migrations.RunPython(shorten, migrations.RunPython.noop, elidable=True)]
