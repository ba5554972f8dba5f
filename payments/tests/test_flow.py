from decimal import Decimal

import pytest

from accounts.tests.factories import UserFactory
from catalog.tests.factories import VariantFactory
from orders.models import Order
from orders.tests.factories import place_order
from payments.models import MoneyEvent, Payment, WebhookEvent
from payments.selectors import payment_totals
from payments.services.webhooks import webhook_event_apply
from payments.tests.factories import deliver_sandbox_event, start_sandbox_payment

pytestmark = pytest.mark.django_db


def test_sandbox_payment_succeeded_marks_order_paid_and_sells_the_stock(settings):
    variant = VariantFactory(stock=5, price_amount=Decimal("10.00"))
    order = place_order(user=UserFactory(), items=[(variant, 2)])
    payment = start_sandbox_payment(order)
    assert payment.status == Payment.Status.PENDING
    assert payment.provider_reference.startswith("sbx_pi_")
    assert payment.amount == order.total_amount

    event = deliver_sandbox_event(payment, succeeded=True, settings=settings)
    assert event.status == WebhookEvent.Status.RECEIVED
    assert webhook_event_apply(event_pk=event.pk) == WebhookEvent.Status.PROCESSED

    payment.refresh_from_db()
    order.refresh_from_db()
    variant.refresh_from_db()
    assert payment.status == Payment.Status.CAPTURED
    assert payment_totals(payment=payment).captured == order.total_amount
    assert order.status == Order.Status.PAID
    assert (variant.stock, variant.reserved) == (3, 0)
    # Applying again (a redelivered task) moves nothing.
    assert webhook_event_apply(event_pk=event.pk) == WebhookEvent.Status.PROCESSED
    assert MoneyEvent.objects.filter(payment=payment).count() == 1
