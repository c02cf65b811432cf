"""Administrators manage the proxy allowlist: add, approve (a second administrator), revoke."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CODENAMES = ("view_proxydestination", "add_proxydestination", "change_proxydestination")


def grant(apps, schema_editor):
    proxy = apps.get_app_config("proxy")
    proxy.models_module = True
    create_permissions(proxy, apps=apps, verbosity=0, using=schema_editor.connection.alias)
    proxy.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="Vault administrators").first()
    if group is not None:
        group.permissions.add(*Permission.objects.filter(content_type__app_label="proxy", codename__in=CODENAMES))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="Vault administrators").first()
    if group is not None:
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="proxy", codename__in=CODENAMES))


class Migration(migrations.Migration):
    dependencies = [
        ("console", "0004_locked_sign_ins"),
        ("proxy", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
