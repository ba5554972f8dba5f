"""A shipping method's price is in the shop currency (issue 9, item 2): not chosen per
method, held to the one `core_shop` row by a foreign key (see catalog 0005). It may be 0:
free shipping is a legitimate offer, so `price_amount >= 0` stays as it is."""

from django.db import migrations, models

import shipping.models


def refuse_other_currencies(apps, schema_editor):
    Shop = apps.get_model("core", "Shop")
    ShippingMethod = apps.get_model("shipping", "ShippingMethod")
    alias = schema_editor.connection.alias
    currency = Shop.objects.using(alias).get(pk=1).currency
    bad = list(
        ShippingMethod.objects.using(alias)
        .exclude(currency=currency)
        .values_list("name", "price_amount", "currency")[:20]
    )
    if bad:
        raise RuntimeError(
            f"Shipping prices must be in the shop currency {currency}. Fix these methods "
            f"first (name, price, currency), then migrate again: {bad}."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("shipping", "0001_initial"),
        ("core", "0002_shop"),
    ]

    operations = [
        migrations.RunPython(refuse_other_currencies, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="shippingmethod",
            name="currency",
            field=models.CharField(
                default=shipping.models._default_currency,
                editable=False,
                max_length=3,
                verbose_name="currency",
            ),
        ),
        migrations.RunSQL(
            "ALTER TABLE shipping_shippingmethod ADD CONSTRAINT "
            "shipping_shippingmethod_currency_is_shop FOREIGN KEY (currency) "
            "REFERENCES core_shop (currency) DEFERRABLE INITIALLY IMMEDIATE",
            "ALTER TABLE shipping_shippingmethod DROP CONSTRAINT "
            "shipping_shippingmethod_currency_is_shop",
        ),
    ]
