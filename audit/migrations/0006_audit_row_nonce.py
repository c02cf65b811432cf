"""A random nonce under each waiting row's MAC (unique: a waiting row cannot be copied), and, on
PostgreSQL, the sealer's one allowed change narrowed: the new place must come after the chain's head."""

import importlib

from django.db import migrations, models

SEALING_SQL = """
CREATE OR REPLACE FUNCTION audit_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND NEW.seq IS NOT NULL
            AND NEW.seq > (SELECT head.seq FROM audit_auditchainhead AS head WHERE head.id = 1)
            AND (to_jsonb(NEW) - 'seq' - 'mac') = (to_jsonb(OLD) - 'seq' - 'mac') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = 'the audit trail is append-only: ' || TG_OP || ' refused',
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def narrow_sealing(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SEALING_SQL)


def widen_sealing(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        previous = importlib.import_module("audit.migrations.0005_unchained_rows")
        schema_editor.execute(previous.SEALING_SQL)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0005_unchained_rows"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="nonce",
            field=models.CharField(editable=False, max_length=32, null=True, unique=True),
        ),
        migrations.RunPython(narrow_sealing, widen_sealing),
    ]
