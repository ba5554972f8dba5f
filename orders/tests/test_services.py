from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.tests.factories import UserFactory
from cart.models import CartLine
from catalog.errors import InsufficientStock
from catalog.models import Variant
from catalog.tests.factories import VariantFactory
from orders.errors import EmptyCart, InvalidTransition
from orders.models import Order, OrderEvent
from orders.selectors import stock_drift
from orders.services import (
    order_confirmation_send,
    order_expire_unpaid,
    order_place,
)
from orders.tests.factories import ADDRESS, place_order
from payments.services.cancel import order_cancel
from shipping.tests.factories import ShippingMethodFactory
from shop.core.testing import shop_currency_switch

pytestmark = pytest.mark.django_db


def test_place_order_snapshots_lines_and_totals():
    user = UserFactory()
    a = VariantFactory(price_amount=Decimal("10.00"), stock=5)
    b = VariantFactory(price_amount=Decimal("2.50"), stock=5)
    method = ShippingMethodFactory(price_amount=Decimal("4.90"))

    order = place_order(user=user, items=[(a, 2), (b, 3)], shipping_method=method)

    assert order.status == Order.Status.PENDING_PAYMENT
    assert order.subtotal_amount == Decimal("27.50")
    assert order.shipping_amount == Decimal("4.90")
    assert order.total_amount == Decimal("32.40")
    lines = {line.sku: line for line in order.lines.all()}
    assert lines[a.sku].unit_price_amount == Decimal("10.00")
    assert lines[a.sku].line_total_amount == Decimal("20.00")
    assert lines[a.sku].product_name == a.product.name
    assert lines[a.sku].merchant_id == a.product.merchant_id
    assert order.ship_full_name == ADDRESS.full_name and order.ship_country == "GB"
    assert not CartLine.objects.filter(cart__user=user).exists()
    a.refresh_from_db()
    assert (a.stock, a.reserved, a.stock_available) == (5, 2, 3)
    assert OrderEvent.objects.filter(order=order, kind=OrderEvent.Kind.PLACED).count() == 1
    assert stock_drift() == []


def test_placed_order_keeps_its_price_when_the_catalog_changes():
    variant = VariantFactory(price_amount=Decimal("10.00"))
    order = place_order(user=UserFactory(), items=[(variant, 1)])
    Variant.objects.filter(pk=variant.pk).update(price_amount=Decimal("99.00"))
    order.refresh_from_db()
    assert order.lines.get().unit_price_amount == Decimal("10.00")
    assert order.total_amount == Decimal("14.90")


def test_insufficient_stock_changes_nothing_and_names_the_lines():
    user = UserFactory()
    plenty = VariantFactory(stock=10)
    scarce = VariantFactory(stock=3)
    place_order(user=user, items=[(plenty, 1)])  # an unrelated earlier order
    from cart.services import cart_add_item

    cart_add_item(user=user, variant_id=plenty.pk, quantity=2)
    cart_add_item(user=user, variant_id=scarce.pk, quantity=3)
    Variant.objects.filter(pk=scarce.pk).update(stock=1)  # someone sold two meanwhile

    with pytest.raises(InsufficientStock) as exc:
        order_place(user=user, shipping_method_id=ShippingMethodFactory().pk, address=ADDRESS)

    assert exc.value.extra["lines"] == [{"variant": scarce.pk, "requested": 3, "available": 1}]
    assert Order.objects.filter(user=user).count() == 1
    assert CartLine.objects.filter(cart__user=user).count() == 2
    plenty.refresh_from_db()
    assert plenty.reserved == 1


def test_empty_cart_is_refused():
    with pytest.raises(EmptyCart):
        order_place(
            user=UserFactory(), shipping_method_id=ShippingMethodFactory().pk, address=ADDRESS
        )


def test_shipping_method_must_ship_to_the_country():
    user = UserFactory()
    from cart.services import cart_add_item

    cart_add_item(user=user, variant_id=VariantFactory().pk, quantity=1)
    method = ShippingMethodFactory(countries=["US"])
    with pytest.raises(ValidationError) as exc:
        order_place(user=user, shipping_method_id=method.pk, address=ADDRESS)
    assert "shipping_method" in exc.value.message_dict


def test_cancel_returns_reserved_stock_and_records_the_event():
    user = UserFactory()
    variant = VariantFactory(stock=4)
    order = place_order(user=user, items=[(variant, 3)])

    order_cancel(order_id=order.pk, by=user, reason="changed my mind")

    order.refresh_from_db()
    variant.refresh_from_db()
    assert order.status == Order.Status.CANCELLED and order.cancelled_at is not None
    assert (variant.stock, variant.reserved) == (4, 0)
    event = order.events.get(kind=OrderEvent.Kind.STATUS_CHANGED)
    assert (event.from_status, event.to_status, event.actor) == (
        "pending_payment",
        "cancelled",
        user,
    )
    with pytest.raises(InvalidTransition):
        order_cancel(order_id=order.pk, by=user)
    variant.refresh_from_db()
    assert variant.reserved == 0


def test_expiry_cancels_only_orders_past_the_timeout(settings):
    settings.ORDER_PAYMENT_TIMEOUT = 1800
    variant = VariantFactory(stock=5)
    old = place_order(user=UserFactory(), items=[(variant, 2)])
    fresh = place_order(user=UserFactory(), items=[(variant, 1)])
    Order.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(minutes=31))

    assert order_expire_unpaid(now=timezone.now()) == 1

    old.refresh_from_db()
    fresh.refresh_from_db()
    variant.refresh_from_db()
    assert old.status == Order.Status.CANCELLED
    assert fresh.status == Order.Status.PENDING_PAYMENT
    assert variant.reserved == 1
    # A controllable clock: half an hour later the fresh one expires too.
    assert order_expire_unpaid(now=timezone.now() + timedelta(minutes=31)) == 1
    variant.refresh_from_db()
    assert variant.reserved == 0
    assert stock_drift() == []


def test_confirmation_mail_is_sent_once():
    order = place_order(user=UserFactory(), items=[(VariantFactory(), 1)])
    assert order_confirmation_send(order_id=order.pk) is True
    assert order_confirmation_send(order_id=order.pk) is False
    assert len(mail.outbox) == 1
    assert order.number in mail.outbox[0].subject
    assert mail.outbox[0].to == [order.email]


def test_confirmation_task_is_enqueued_after_commit(
    django_capture_on_commit_callbacks, monkeypatch
):
    from orders.tasks import order_confirmation_send_task

    enqueued = []
    monkeypatch.setattr(
        order_confirmation_send_task,
        "apply_async",
        lambda kwargs, **options: enqueued.append(kwargs),
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        order = place_order(user=UserFactory(), items=[(VariantFactory(), 1)])
    assert enqueued == []  # nothing leaves before the transaction commits
    for callback in callbacks:
        callback()
    assert enqueued == [{"order_id": order.pk}]
    order_confirmation_send_task(**enqueued[0])
    assert len(mail.outbox) == 1 and order.number in mail.outbox[0].subject


def test_expiry_task_cancels_expired_orders(settings):
    from orders.tasks import orders_expire_unpaid_task

    settings.ORDER_PAYMENT_TIMEOUT = 60
    variant = VariantFactory(stock=2)
    order = place_order(user=UserFactory(), items=[(variant, 2)])
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(seconds=61))

    assert orders_expire_unpaid_task() == 1

    order.refresh_from_db()
    variant.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert variant.reserved == 0
    event = order.events.get(kind=OrderEvent.Kind.STATUS_CHANGED)
    assert (event.from_status, event.to_status, event.actor) == (
        "pending_payment",
        "cancelled",
        None,
    )
    assert orders_expire_unpaid_task() == 0  # nothing left to do


def test_expiry_runs_in_batches(settings):
    settings.ORDER_PAYMENT_TIMEOUT = 60
    variant = VariantFactory(stock=10)
    orders = [place_order(user=UserFactory(), items=[(variant, 1)]) for _ in range(5)]
    later = timezone.now() + timedelta(seconds=120)
    assert order_expire_unpaid(now=later, batch_size=2) == 5
    assert set(Order.objects.values_list("status", flat=True)) == {Order.Status.CANCELLED}
    variant.refresh_from_db()
    assert variant.reserved == 0 and len(orders) == 5


def test_expiry_leaves_paid_orders_alone(settings):
    settings.ORDER_PAYMENT_TIMEOUT = 60
    order = place_order(user=UserFactory(), items=[(VariantFactory(), 1)])
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID)
    assert order_expire_unpaid(now=timezone.now() + timedelta(hours=1)) == 0
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def test_totals_sum_lines_and_shipping_in_the_shop_currency(settings):
    shop_currency_switch(settings, "EUR")
    a = VariantFactory(price_amount=Decimal("0.10"), stock=10)
    b = VariantFactory(price_amount=Decimal("19.99"), stock=10)
    method = ShippingMethodFactory(price_amount=Decimal("0.00"))

    order = place_order(user=UserFactory(), items=[(a, 3), (b, 1)], shipping_method=method)

    assert order.currency == "EUR"
    assert order.subtotal_amount == Decimal("20.29")
    assert order.total_amount == order.subtotal_amount + order.shipping_amount == Decimal("20.29")
    assert {line.currency for line in order.lines.all()} == {"EUR"}
    assert sorted(line.line_total_amount for line in order.lines.all()) == [
        Decimal("0.30"),
        Decimal("19.99"),
    ]


def test_a_saved_address_snapshots_into_the_order():
    from accounts.tests.factories import AddressFactory
    from orders.services import ShippingAddress

    user = UserFactory()
    address = AddressFactory(user=user, country="US", line2="Apt 4", phone="555")
    order = place_order(
        user=user,
        items=[(VariantFactory(), 1)],
        address=ShippingAddress.from_address(address),
    )
    address.city = "Elsewhere"
    address.save()
    order.refresh_from_db()
    assert (order.ship_line2, order.ship_phone, order.ship_country) == ("Apt 4", "555", "US")
    assert order.ship_city != "Elsewhere"


def test_a_broker_outage_never_fails_a_placed_order_and_the_sweeper_sends_the_mail(
    django_capture_on_commit_callbacks, monkeypatch
):
    from orders.services import order_confirmations_requeue
    from orders.tasks import order_confirmation_send_task

    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(order_confirmation_send_task, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        order = place_order(user=UserFactory(), items=[(VariantFactory(), 1)])
    assert Order.objects.filter(pk=order.pk, confirmation_sent_at__isnull=True).exists()

    sent = []
    monkeypatch.setattr(
        order_confirmation_send_task, "apply_async", lambda kwargs, **o: sent.append(kwargs)
    )
    assert order_confirmations_requeue(older_than_seconds=0) == 1
    order_confirmation_send_task(**sent[0])
    assert len(mail.outbox) == 1
    assert order_confirmations_requeue(older_than_seconds=0) == 0
