"""The `Finance` group: who may see payments in the admin, refund and re-apply events.

Merchant staff get nothing here: payments span every merchant of an order. Permissions
are created explicitly because Django only makes them in `post_migrate`."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP_NAME = "Finance"
PERMISSIONS = [
    "view_payment",
    "view_moneyevent",
    "view_refund",
    "view_webhookevent",
    # Used as action permissions only (the admin edits no payment row):
    "change_payment",  # request a refund
    "change_webhookevent",  # re-apply a failed or flagged event
]


def create_group(apps, schema_editor):
    app_config = apps.get_app_config("payments")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps, using=schema_editor.connection.alias)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP_NAME)
    permissions = Permission.objects.filter(
        content_type__app_label="payments", codename__in=PERMISSIONS
    )
    assert permissions.count() == len(PERMISSIONS), "payments permissions are missing"
    group.permissions.add(*permissions)


def delete_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, delete_group)]
