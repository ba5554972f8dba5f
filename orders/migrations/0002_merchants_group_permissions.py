"""Merchant staff may view the orders holding their lines, and those lines (the admin
scopes which ones); changes to orders stay with the shop's own staff."""

from django.db import migrations

from shop.core.migration_ops import grant_group_permissions

PERMISSIONS = ["view_order", "view_orderline"]


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0001_initial"),
        ("catalog", "0002_merchants_group"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        grant_group_permissions(group="Merchants", app_label="orders", codenames=PERMISSIONS)
    ]
