"""Provision the console's roles as groups with their permissions."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

# A frozen copy of console.roles at the time of writing: migrations must not change with the code.
ROLE_PERMISSIONS = {
    "Vault administrators": [
        ("merchants", "view_merchant"),
        ("merchants", "add_merchant"),
        ("merchants", "change_merchant"),
        ("merchants", "view_profile"),
        ("merchants", "add_profile"),
        ("merchants", "change_profile"),
        ("merchants", "view_apikey"),
        ("merchants", "add_apikey"),
        ("merchants", "change_apikey"),
        ("auth", "view_user"),
        ("auth", "add_user"),
        ("auth", "change_user"),
        ("otp_totp", "view_totpdevice"),
        ("otp_totp", "delete_totpdevice"),
        ("audit", "view_auditevent"),
    ],
    "Support": [
        ("merchants", "view_merchant"),
        ("merchants", "view_profile"),
        ("customers", "view_customer"),
        ("tokens", "view_paymentmethod"),
        ("audit", "view_auditevent"),
    ],
}


def provision_roles(apps, schema_editor):
    # Permissions are normally created after all migrations ran; create them now so groups can hold them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0, using=schema_editor.connection.alias)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, pairs in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        permissions = []
        for app_label, codename in pairs:
            permissions.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.set(permissions)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLE_PERMISSIONS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("merchants", "0001_initial"),
        ("customers", "0001_initial"),
        ("tokens", "0002_network_tokens"),
        ("audit", "0001_initial"),
        ("otp_totp", "0003_add_timestamps"),
    ]

    operations = [migrations.RunPython(provision_roles, remove_roles)]
