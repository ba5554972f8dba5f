"""End to end with a real Celery worker: a signed sandbox webhook posted to the shop is
applied by the worker (a separate process on the test database and Redis), and the order
becomes paid. Nothing is called in-process: if the task is not queued on commit, not
routed to a queue the worker consumes, or fails in the worker, the order never gets paid."""

from decimal import Decimal

import pytest

from accounts.tests.factories import UserFactory
from catalog.tests.factories import VariantFactory
from orders.models import Order
from orders.tests.factories import place_order
from payments.models import MoneyEvent, Payment, WebhookEvent
from payments.providers.sandbox import sandbox_event_build
from payments.selectors import payment_totals
from payments.tests.factories import signed, start_sandbox_payment

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PAID_TIMEOUT = 30


def test_signed_webhook_is_applied_by_the_worker_and_the_order_is_paid(
    celery_worker, client, settings, wait_for
):
    variant = VariantFactory(stock=5, price_amount=Decimal("12.50"))
    order = place_order(user=UserFactory(), items=[(variant, 2)])
    payment = start_sandbox_payment(order)
    assert order.status == Order.Status.PENDING_PAYMENT

    event = sandbox_event_build(payment=payment, succeeded=True)
    body, signature = signed(event, secret=settings.SANDBOX_WEBHOOK_SECRET)
    response = client.post(
        "/payments/webhooks/sandbox/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )
    assert response.status_code == 200, response.content
    assert response.json()["received"] is True

    def order_paid():
        """the worker to mark the order paid"""
        return Order.objects.filter(pk=order.pk, status=Order.Status.PAID).exists()

    wait_for(order_paid, timeout=PAID_TIMEOUT, worker=celery_worker)

    payment.refresh_from_db()
    order.refresh_from_db()
    variant.refresh_from_db()
    assert payment.status == Payment.Status.CAPTURED
    assert payment_totals(payment=payment).captured == order.total_amount
    assert MoneyEvent.objects.filter(payment=payment, kind=MoneyEvent.Kind.CAPTURE).count() == 1
    stored = WebhookEvent.objects.get(provider="sandbox", event_id=event["id"])
    assert stored.status == WebhookEvent.Status.PROCESSED
    assert stored.attempts == 1
    assert stored.payment_id == payment.pk
    # The reserved units were sold: stock down by two, nothing left reserved.
    assert (variant.stock, variant.reserved) == (3, 0)
    # And it was that worker process that applied it.
    assert "payments.tasks.webhook_event_apply_task" in celery_worker.log(tail=200)
