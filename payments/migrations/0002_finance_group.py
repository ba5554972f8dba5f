"""The `Finance` group: who may see payments in the admin, refund and re-apply events.

Merchant staff get nothing here: payments span every merchant of an order. Permissions
are created explicitly because Django only makes them in `post_migrate`."""

from django.db import migrations

from shop.core.migration_ops import grant_group_permissions

PERMISSIONS = [
    "view_payment",
    "view_moneyevent",
    "view_refund",
    "view_webhookevent",
    # Used as action permissions only (the admin edits no payment row):
    "change_payment",  # request a refund
    "change_webhookevent",  # re-apply a failed or flagged event
]


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        grant_group_permissions(group="Finance", app_label="payments", codenames=PERMISSIONS)
    ]
