"""Order lines remember the product they sold, so "bought this product" and
recommendations are read from orders' own tables."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def backfill(apps, schema_editor):
    OrderLine = apps.get_model("orders", "OrderLine")
    Variant = apps.get_model("catalog", "Variant")
    OrderLine.objects.filter(product__isnull=True).update(
        product_id=Subquery(Variant.objects.filter(pk=OuterRef("variant_id")).values("product_id"))
    )


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0003_product_rating_histogram"),
        ("orders", "0003_order_number_from_sequence"),
    ]

    operations = [
        migrations.AddField(
            model_name="orderline",
            name="product",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="catalog.product",
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="orderline",
            name="product",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="catalog.product",
            ),
        ),
    ]
