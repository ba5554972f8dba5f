"""The shop row: which currency the database's prices are in (see core.models.Shop).

Created from SHOP_CURRENCY as it is when this runs, the currency every existing price was
entered in; catalog 0005 and shipping 0002 then hold the price tables to it."""

from django.conf import settings
from django.db import migrations, models


def create_row(apps, schema_editor):
    Shop = apps.get_model("core", "Shop")
    Shop.objects.using(schema_editor.connection.alias).get_or_create(
        pk=1, defaults={"currency": settings.SHOP_CURRENCY.upper()}
    )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="Shop",
            fields=[
                (
                    "id",
                    models.PositiveSmallIntegerField(
                        default=1, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("currency", models.CharField(max_length=3, unique=True, verbose_name="currency")),
            ],
            options={
                "verbose_name": "shop",
                "verbose_name_plural": "shop",
                "constraints": [
                    models.CheckConstraint(condition=models.Q(("id", 1)), name="core_shop_one_row"),
                    models.CheckConstraint(
                        condition=models.Q(("currency__regex", "^[A-Z]{3}$")),
                        name="core_shop_currency_iso",
                    ),
                ],
            },
        ),
        migrations.RunPython(create_row, migrations.RunPython.noop),
    ]
