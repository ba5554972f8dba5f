"""Merchant staff may see and moderate (hide, publish) the reviews of their own products;
the admin scopes which ones. Adding and deleting reviews stays with shoppers and the shop."""

from django.db import migrations

from shop.core.migration_ops import grant_group_permissions

PERMISSIONS = ["view_review", "change_review"]


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0001_initial"),
        ("catalog", "0002_merchants_group"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        grant_group_permissions(group="Merchants", app_label="reviews", codenames=PERMISSIONS)
    ]
