"""The audit trail's chain of MACs (audit/chain.py), and, on PostgreSQL, a trigger that refuses to
change or remove its rows."""

from django.db import migrations, models

# PostgreSQL refuses UPDATE, DELETE and TRUNCATE on the trail whoever asks, the application's own
# role included. Only a session with session_replication_role = replica (a superuser's right) skips
# triggers: that is how the retention command removes exported rows.
APPEND_ONLY_SQL = """
CREATE OR REPLACE FUNCTION audit_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'the audit trail is append-only: ' || TG_OP || ' refused',
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_auditevent_no_update_or_delete
    BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_auditevent_append_only();
CREATE TRIGGER audit_auditevent_no_truncate
    BEFORE TRUNCATE ON audit_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION audit_auditevent_append_only();
"""
DROP_SQL = """
DROP TRIGGER IF EXISTS audit_auditevent_no_truncate ON audit_auditevent;
DROP TRIGGER IF EXISTS audit_auditevent_no_update_or_delete ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_auditevent_append_only();
"""


def chain_existing_rows(apps, schema_editor):
    """Give rows written before the chain their place and MAC, in id order, under the newest key."""
    from audit import chain

    AuditEvent = apps.get_model("audit", "AuditEvent")
    AuditChainHead = apps.get_model("audit", "AuditChainHead")
    previous, seq = "", 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        seq += 1
        event.seq = seq
        event.mac = chain.row_mac({name: getattr(event, name) for name in chain.CHAINED_FIELDS}, previous)
        AuditEvent.objects.filter(pk=event.pk).update(seq=seq, mac=event.mac)
        previous = event.mac
    AuditChainHead.objects.create(pk=1, seq=seq, mac=previous)


def add_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY_SQL)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditChainHead",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("seq", models.BigIntegerField(default=0)),
                ("mac", models.CharField(blank=True, max_length=80)),
                ("anchor_seq", models.BigIntegerField(default=0)),
                ("anchor_mac", models.CharField(blank=True, max_length=80)),
            ],
        ),
        migrations.AddField(
            model_name="auditevent",
            name="mac",
            field=models.CharField(blank=True, max_length=80),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="seq",
            field=models.BigIntegerField(null=True, unique=True),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="occurred_at",
            field=models.DateTimeField(db_index=True),
        ),
        migrations.RunPython(chain_existing_rows, migrations.RunPython.noop),
        migrations.RunPython(add_trigger, drop_trigger),
    ]
