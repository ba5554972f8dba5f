"""The `Merchants` group: exactly what a merchant's staff need in the admin.

Later apps (orders, shipping) add their own permissions to this group in their own
migrations. Permissions are created here explicitly because Django only creates them in
`post_migrate`, after every migration has run, so on a fresh database they don't exist yet.
"""

from django.db import migrations

from shop.core.migration_ops import grant_group_permissions

PERMISSIONS = [
    *(
        f"{action}_{model}"
        for model in ("product", "variant", "productimage", "productattribute")
        for action in ("view", "add", "change", "delete")
    ),
    "view_merchant",
    "view_category",
]


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        grant_group_permissions(group="Merchants", app_label="catalog", codenames=PERMISSIONS)
    ]
