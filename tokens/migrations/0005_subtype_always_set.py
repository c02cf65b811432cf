"""Give every card a `payment_method_subtype`: upstream's saved-payment-methods list requires one.

New cards get it at create (the subtype, else `card_type`; a create with neither is refused). Cards
vaulted earlier without it take their `card_type`, and those with neither take `credit`, the subtype
upstream's own vaulting examples use; the README says so.
"""

from django.db import migrations
from django.db.models import F


def fill(apps, schema_editor):
    PaymentMethod = apps.get_model("tokens", "PaymentMethod")
    missing = PaymentMethod.objects.filter(payment_method_subtype__isnull=True)
    missing.filter(card_type__isnull=False).update(payment_method_subtype=F("card_type"))
    missing.update(payment_method_subtype="credit")


class Migration(migrations.Migration):
    dependencies = [("tokens", "0004_connector_tokens")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop, elidable=True)]
