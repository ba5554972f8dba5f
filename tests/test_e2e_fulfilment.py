"""The whole trade end to end, with a real Celery worker applying what comes in over HTTP:
order, pay, a merchant ships part, the carrier reports, the rest ships, everything is
delivered, one line comes back, is approved, received and refunded. Nothing is applied
in-process: payment and carrier callbacks are POSTed to the shop and applied by the worker,
which also sends the emails and executes the refund."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from fulfilment.models import Return, Shipment
from fulfilment.services.returns import return_approve, return_receive, return_request
from fulfilment.services.shipments import shipment_create
from fulfilment.tests.factories import (
    carrier_event,
    carrier_signed,
    merchant_with_staff,
    product_of,
)
from orders.models import Order, OrderEvent
from orders.tests.factories import place_order
from payments.models import Payment
from payments.providers.sandbox import sandbox_event_build
from payments.tests.factories import signed, start_sandbox_payment
from shop.core.models import OutboxEmail

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TIMEOUT = 30


def test_the_whole_trade_with_a_real_worker(celery_worker, client, settings, wait_for):
    from fulfilment.models import Carrier
    from fulfilment.tests.conftest import CARRIERS

    for slug, name, template, sandbox in CARRIERS:
        Carrier.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "tracking_url_template": template, "is_sandbox": sandbox},
        )
    staff_a, staff_b = (
        UserFactory(email="a@merchant.example"),
        UserFactory(email="b@merchant.example"),
    )
    merchant_a, merchant_b = merchant_with_staff(staff_a), merchant_with_staff(staff_b)
    mug, lamp = product_of(merchant_a, price="8.00"), product_of(merchant_b, price="30.00")
    shopper = UserFactory(email="shopper@example.com")
    order = place_order(user=shopper, items=[(mug, 2), (lamp, 1)])

    # Pay: the provider's signed callback, over HTTP; the worker applies it.
    payment = start_sandbox_payment(order)
    body, signature = signed(
        sandbox_event_build(payment=payment, succeeded=True), secret=settings.SANDBOX_WEBHOOK_SECRET
    )
    assert (
        client.post(
            "/payments/webhooks/sandbox/",
            data=body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature,
        ).status_code
        == 200
    )

    def order_status(status):
        def check():
            return Order.objects.filter(pk=order.pk, status=status).exists()

        check.__doc__ = f"the order to become {status}"
        return check

    wait_for(order_status(Order.Status.PAID), timeout=TIMEOUT, worker=celery_worker)

    # Merchant A ships its line; the carrier reports, over HTTP.
    first = shipment_create(order_id=order.pk, carrier="dhl", tracking_number="E2E-A", by=staff_a)
    assert Order.objects.get(pk=order.pk).status == Order.Status.PARTIALLY_SHIPPED

    def carrier_says(shipment, status):
        event = carrier_event(shipment, status=status, occurred_at=timezone.now())
        body, signature = carrier_signed(event)
        response = client.post(
            f"/shipping/webhooks/{shipment.carrier.slug}/",
            data=body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature,
        )
        assert response.status_code == 200, response.content

        def applied():
            return Shipment.objects.filter(pk=shipment.pk, status=status).exists()

        applied.__doc__ = f"shipment {shipment.tracking_number} to become {status}"
        wait_for(applied, timeout=TIMEOUT, worker=celery_worker)

    carrier_says(first, "in_transit")
    # Merchant B ships the rest: shipped.
    second = shipment_create(order_id=order.pk, carrier="ups", tracking_number="E2E-B", by=staff_b)
    assert Order.objects.get(pk=order.pk).status == Order.Status.SHIPPED
    carrier_says(first, "delivered")
    carrier_says(second, "out_for_delivery")
    carrier_says(second, "delivered")
    wait_for(order_status(Order.Status.DELIVERED), timeout=TIMEOUT, worker=celery_worker)

    # One line comes back: requested, approved, received; the worker refunds it.
    mug_line = order.lines.get(variant=mug)
    found = return_request(
        order_id=order.pk, user=shopper, lines={mug_line.pk: 1}, reason="damaged"
    )
    return_approve(return_id=found.pk, by=staff_a, note="Post it to the depot")
    return_receive(return_id=found.pk, by=staff_a, restock={mug_line.pk: True})

    def refunded():
        """the return to be refunded (refund executed, settled by the worker)"""
        return Return.objects.filter(pk=found.pk, status=Return.Status.REFUNDED).exists()

    wait_for(refunded, timeout=TIMEOUT, worker=celery_worker)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PARTIALLY_REFUNDED
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    assert order.payment_status == Order.PaymentStatus.PARTIALLY_REFUNDED

    # The order's event log, complete and in order.
    log = [
        (event.kind, event.to_status)
        for event in OrderEvent.objects.filter(order=order).order_by("created_at", "id")
    ]
    print("\nevent log:\n" + "\n".join(f"  {kind} -> {status}" for kind, status in log))
    assert log == [
        ("placed", "pending_payment"),
        ("status_changed", "paid"),
        ("shipment", "paid"),
        ("status_changed", "partially_shipped"),
        ("shipment", "partially_shipped"),
        ("status_changed", "shipped"),
        ("status_changed", "delivered"),
        ("return", "delivered"),
        ("return", "delivered"),
        ("return", "delivered"),
    ]

    def emails_sent():
        """every queued email to be sent by the worker"""
        return not OutboxEmail.objects.exclude(status=OutboxEmail.Status.SENT).exists()

    wait_for(emails_sent, timeout=TIMEOUT, worker=celery_worker)
    sent = sorted((email.key.split(":")[0], tuple(email.to)) for email in OutboxEmail.objects.all())
    assert sent == sorted(
        [
            ("order-paid-merchant", ("a@merchant.example",)),
            ("order-paid-merchant", ("b@merchant.example",)),
            ("shipment-shipped", ("shopper@example.com",)),
            ("shipment-shipped", ("shopper@example.com",)),
            ("shipment-delivered", ("shopper@example.com",)),
            ("shipment-delivered", ("shopper@example.com",)),
            ("return-requested", ("a@merchant.example",)),
            ("return-approved", ("shopper@example.com",)),
            ("return-refunded", ("shopper@example.com",)),
        ]
    )
