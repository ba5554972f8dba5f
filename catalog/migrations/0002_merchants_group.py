"""The `Merchants` group: exactly what a merchant's staff need in the admin.

Later apps (orders, shipping) add their own permissions to this group in their own
migrations. Permissions are created here explicitly because Django only creates them in
`post_migrate`, after every migration has run, so on a fresh database they don't exist yet.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP_NAME = "Merchants"
PERMISSIONS = [
    *(
        f"{action}_{model}"
        for model in ("product", "variant", "productimage", "productattribute")
        for action in ("view", "add", "change", "delete")
    ),
    "view_merchant",
    "view_category",
]


def create_group(apps, schema_editor):
    app_config = apps.get_app_config("catalog")
    # Historical app configs have no models module; create_permissions skips those.
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps, using=schema_editor.connection.alias)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP_NAME)
    permissions = Permission.objects.filter(
        content_type__app_label="catalog", codename__in=PERMISSIONS
    )
    assert permissions.count() == len(PERMISSIONS), "catalog permissions are missing"
    group.permissions.add(*permissions)


def delete_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, delete_group)]
