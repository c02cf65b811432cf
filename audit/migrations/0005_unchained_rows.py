"""Rows join the chain after their act commits (audit/sealing.py): an index on the rows still
waiting, and, on PostgreSQL, a trigger that lets exactly one change through, the sealer's: a row
with no place gets its sequence number and chained MAC, once, and nothing else of it changes."""

from django.db import migrations, models

SEALING_SQL = """
CREATE OR REPLACE FUNCTION audit_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND NEW.seq IS NOT NULL
            AND (to_jsonb(NEW) - 'seq' - 'mac') = (to_jsonb(OLD) - 'seq' - 'mac') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = 'the audit trail is append-only: ' || TG_OP || ' refused',
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""
STRICT_SQL = """
CREATE OR REPLACE FUNCTION audit_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'the audit trail is append-only: ' || TG_OP || ' refused',
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def allow_sealing(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SEALING_SQL)


def refuse_sealing(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(STRICT_SQL)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0004_api_key_label"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(condition=models.Q(("seq__isnull", True)), fields=["id"], name="audit_event_unchained"),
        ),
        migrations.RunPython(allow_sealing, refuse_sealing),
    ]
