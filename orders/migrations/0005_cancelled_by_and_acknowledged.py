"""Who cancelled an order (issue 9, item 1: a person's cancel sticks, money arriving later
is refunded) and when a merchant acknowledged it (item 4: then the shopper cannot cancel).

Orders cancelled before this column existed are read from their cancel event: the expiry
task wrote "Payment time ran out." with no actor; a cancel by the order's own user is the
customer's; anything else was the shop's. An unclear case counts as deliberate, so late
money for it is refunded rather than used to revive it (the safe side for the shopper)."""

from django.conf import settings
from django.db import migrations, models

EXPIRY_NOTE = "Payment time ran out."


def backfill_cancelled_by(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    OrderEvent = apps.get_model("orders", "OrderEvent")
    alias = schema_editor.connection.alias
    cancelled = Order.objects.using(alias).filter(status="cancelled", cancelled_by_kind="")
    for order in cancelled.iterator():
        event = (
            OrderEvent.objects.using(alias)
            .filter(order=order, to_status="cancelled")
            .order_by("-created_at", "-id")
            .first()
        )
        if event is not None and event.actor_id is None and event.note == EXPIRY_NOTE:
            kind = "expired"
        elif event is not None and event.actor_id == order.user_id:
            kind = "customer"
        else:
            kind = "staff"
        order.cancelled_by_kind = kind
        order.cancel_reason = (event.note if event is not None else "")[:255]
        order.save(update_fields=["cancelled_by_kind", "cancel_reason"])


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0004_orderline_product'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='order',
            name='acknowledged_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='acknowledged at'),
        ),
        migrations.AddField(
            model_name='order',
            name='cancel_reason',
            field=models.CharField(blank=True, default='', max_length=255, verbose_name='cancel reason'),
        ),
        migrations.AddField(
            model_name='order',
            name='cancelled_by_kind',
            field=models.CharField(blank=True, choices=[('customer', 'the customer'), ('merchant', 'a merchant'), ('staff', 'the shop'), ('expired', 'payment time ran out')], default='', max_length=20, verbose_name='cancelled by'),
        ),
        migrations.AddField(
            model_name='orderline',
            name='acknowledged_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='acknowledged at'),
        ),
        migrations.AlterField(
            model_name='orderevent',
            name='kind',
            field=models.CharField(choices=[('placed', 'Placed'), ('status_changed', 'Status changed'), ('note', 'Note'), ('acknowledged', 'Acknowledged by a merchant')], max_length=20, verbose_name='kind'),
        ),
        migrations.RunPython(backfill_cancelled_by, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='order',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('cancelled_by_kind__in', ['customer', 'merchant', 'staff', 'expired']), ('status', 'cancelled')), models.Q(models.Q(('status', 'cancelled'), _negated=True), ('cancelled_by_kind', '')), _connector='OR'), name='orders_order_cancelled_by_kind_valid'),
        ),
    ]
