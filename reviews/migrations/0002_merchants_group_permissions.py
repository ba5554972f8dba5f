"""Merchant staff may see and moderate (hide, publish) the reviews of their own products;
the admin scopes which ones. Adding and deleting reviews stays with shoppers and the shop."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP_NAME = "Merchants"
PERMISSIONS = ["view_review", "change_review"]


def add_permissions(apps, schema_editor):
    app_config = apps.get_app_config("reviews")
    # Permissions are only made in post_migrate; on a fresh database they don't exist yet.
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps, using=schema_editor.connection.alias)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP_NAME)
    permissions = Permission.objects.filter(
        content_type__app_label="reviews", codename__in=PERMISSIONS
    )
    assert permissions.count() == len(PERMISSIONS), "reviews permissions are missing"
    group.permissions.add(*permissions)


def remove_permissions(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name=GROUP_NAME).first()
    if group is not None:
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="reviews", codename__in=PERMISSIONS)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0001_initial"),
        ("catalog", "0002_merchants_group"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(add_permissions, remove_permissions)]
