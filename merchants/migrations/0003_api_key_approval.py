from django.db import migrations, models
from django.db.models import F


def approve_existing_keys(apps, schema_editor):
    # Keys issued before dual control keep working: they count as approved when they were issued.
    # Their audit rows say who issued them; a reveal key among them can be replaced by a dual-control one.
    apps.get_model("merchants", "ApiKey").objects.update(approved_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("merchants", "0002_rate_limits"),
    ]

    operations = [
        migrations.AddField(
            model_name="apikey",
            name="approved_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="apikey",
            name="approved_by",
            field=models.CharField(blank=True, max_length=170),
        ),
        migrations.AddField(
            model_name="apikey",
            name="issued_by",
            field=models.CharField(blank=True, max_length=170),
        ),
        migrations.RunPython(approve_existing_keys, migrations.RunPython.noop),
    ]
