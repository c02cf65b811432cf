"""Administrators no longer remove authenticators: that opens an account to a new enrolment."""

from django.db import migrations


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="Vault administrators").first()
    permission = Permission.objects.filter(content_type__app_label="otp_totp", codename="delete_totpdevice").first()
    if group is not None and permission is not None:
        group.permissions.remove(permission)


def restore(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="Vault administrators").first()
    permission = Permission.objects.filter(content_type__app_label="otp_totp", codename="delete_totpdevice").first()
    if group is not None and permission is not None:
        group.permissions.add(permission)


class Migration(migrations.Migration):
    dependencies = [
        ("console", "0002_enrolment_codes"),
    ]

    operations = [migrations.RunPython(revoke, restore)]
