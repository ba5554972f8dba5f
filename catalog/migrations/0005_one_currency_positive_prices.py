"""One shop currency and positive prices (issue 9, item 2).

A variant's or product's currency is no longer chosen per row: a foreign key from the
`currency` column to the one `core_shop` row holds every row to the shop currency (a CHECK
cannot name a value that changes per deployment; a key to a one-row table can, and the
database then records which currency its prices are in). Prices are above zero.

Rows that break either rule were entered through the hole this closes. Their prices
cannot be converted or guessed, so the migration stops and names them: fix them (a
positive price in the shop currency) or deactivate and reprice them, then migrate again."""

from decimal import Decimal

import django.core.validators
from django.db import migrations, models
from django.db.models import Q

import catalog.models


def refuse_bad_prices(apps, schema_editor):
    Shop = apps.get_model("core", "Shop")
    Variant = apps.get_model("catalog", "Variant")
    Product = apps.get_model("catalog", "Product")
    alias = schema_editor.connection.alias
    currency = Shop.objects.using(alias).get(pk=1).currency
    bad_variants = list(
        Variant.objects.using(alias)
        .filter(Q(price_amount__lte=0) | ~Q(currency=currency))
        .values_list("sku", "price_amount", "currency")[:20]
    )
    bad_products = list(
        Product.objects.using(alias).exclude(currency=currency).values_list("slug", flat=True)[:20]
    )
    if bad_variants or bad_products:
        raise RuntimeError(
            f"Prices must be positive and in the shop currency {currency}. Fix these rows "
            f"first, then migrate again. Variants (sku, price, currency): {bad_variants}; "
            f"products (slug) in another currency: {bad_products}."
        )


FOREIGN_KEYS = [
    ("catalog_variant", "catalog_variant_currency_is_shop"),
    ("catalog_product", "catalog_product_currency_is_shop"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0004_stockmovement"),
        ("core", "0002_shop"),
    ]

    operations = [
        migrations.RunPython(refuse_bad_prices, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name="variant",
            name="catalog_variant_price_not_negative",
        ),
        migrations.AlterField(
            model_name="product",
            name="currency",
            field=models.CharField(
                default=catalog.models._default_currency,
                editable=False,
                max_length=3,
                verbose_name="currency",
            ),
        ),
        migrations.AlterField(
            model_name="variant",
            name="currency",
            field=models.CharField(
                default=catalog.models._default_currency,
                editable=False,
                max_length=3,
                verbose_name="currency",
            ),
        ),
        migrations.AlterField(
            model_name="variant",
            name="price_amount",
            field=models.DecimalField(
                decimal_places=2,
                max_digits=12,
                validators=[django.core.validators.MinValueValidator(Decimal("0.01"))],
                verbose_name="price",
            ),
        ),
        migrations.AddConstraint(
            model_name="variant",
            constraint=models.CheckConstraint(
                condition=models.Q(("price_amount__gt", 0)), name="catalog_variant_price_positive"
            ),
        ),
        *[
            # Not in the models' Meta (Django's constraints cannot name another table): a
            # key on a plain column, which keeps `currency` a string for every reader.
            # NO ACTION: changing the shop currency is a conversion of every price in one
            # transaction (DEFERRABLE allows it), never a relabelling.
            migrations.RunSQL(
                f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY (currency) "
                "REFERENCES core_shop (currency) DEFERRABLE INITIALLY IMMEDIATE",
                f"ALTER TABLE {table} DROP CONSTRAINT {name}",
            )
            for table, name in FOREIGN_KEYS
        ],
    ]
