"""The carriers the shop starts with (admins edit the list), the offline sandbox carrier
among them, and what merchant staff may do: see their shipments and returns, ship (add
shipments) and handle returns (change them, through the admin's actions only)."""

from django.db import migrations

from shop.core.migration_ops import grant_group_permissions

CARRIERS = [
    ("sandbox", "Bazaar Sandbox Post", "", True),
    ("dhl", "DHL", "https://www.dhl.com/global-en/home/tracking.html?tracking-id={tracking_number}", False),
    ("ups", "UPS", "https://www.ups.com/track?tracknum={tracking_number}", False),
    ("fedex", "FedEx", "https://www.fedex.com/fedextrack/?trknbr={tracking_number}", False),
    ("usps", "USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels={tracking_number}", False),
]

PERMISSIONS = [
    "view_carrier",
    "view_shipment",
    "add_shipment",
    "view_shipmentevent",
    "view_return",
    "change_return",
]


def add_carriers(apps, schema_editor):
    Carrier = apps.get_model("fulfilment", "Carrier")
    for slug, name, template, sandbox in CARRIERS:
        Carrier.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "tracking_url_template": template, "is_sandbox": sandbox},
        )


class Migration(migrations.Migration):
    dependencies = [
        ("fulfilment", "0001_initial"),
        ("catalog", "0002_merchants_group"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(add_carriers, migrations.RunPython.noop),
        grant_group_permissions(group="Merchants", app_label="fulfilment", codenames=PERMISSIONS),
    ]
