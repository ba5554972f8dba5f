"""Applying provider events, refunds and late payments, through the services."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from orders.models import Order, OrderEvent
from orders.selectors import stock_drift
from orders.services import order_expire_unpaid
from orders.tests.factories import place_order
from payments.errors import EventNotReady, PaymentNotAllowed, RefundNotAllowed
from payments.models import MoneyEvent, Payment, Refund, WebhookEvent
from payments.selectors import payment_refundable_amount, payment_totals
from payments.services.cancel import order_cancel
from payments.services.refunds import refund_execute, refund_request
from payments.services.start import payment_start
from payments.services.webhooks import webhook_event_apply, webhook_event_reapply
from payments.tests.support import (
    deliver,
    order_with_payment,
    provider_event,
    queue_clear,
    queued_for,
    refunded_event,
)

pytestmark = pytest.mark.django_db

APPLY_TASK = "payments.tasks.webhook_event_apply_task"
REFUND_TASK = "payments.tasks.refund_execute_task"


@pytest.fixture
def secret(settings):
    return settings.SANDBOX_WEBHOOK_SECRET


def apply(event: dict, secret: str) -> WebhookEvent:
    stored = deliver(event, secret=secret)
    webhook_event_apply(event_pk=stored.pk)
    stored.refresh_from_db()
    return stored


def refresh(*objs):
    for obj in objs:
        obj.refresh_from_db()


def captures(payment) -> int:
    return MoneyEvent.objects.filter(payment=payment, kind=MoneyEvent.Kind.CAPTURE).count()


def pay(payment, secret) -> WebhookEvent:
    event = apply(provider_event(payment), secret)
    assert event.status == WebhookEvent.Status.PROCESSED, event.last_error
    return event


# --- Applying ---------------------------------------------------------------------------


def test_succeeded_captures_pays_and_commits_stock(secret):
    variant, order, payment = order_with_payment(stock=5, quantity=2)
    refresh(variant)
    assert (variant.stock, variant.reserved) == (5, 2)

    event = pay(payment, secret)

    refresh(variant, order, payment)
    assert payment.status == Payment.Status.CAPTURED
    assert order.status == Order.Status.PAID
    assert order.payment_status == Order.PaymentStatus.PAID
    assert order.paid_at is not None
    assert (variant.stock, variant.reserved) == (3, 0)
    capture = MoneyEvent.objects.get(payment=payment)
    assert (capture.kind, capture.amount, capture.source) == (
        "capture",
        order.total_amount,
        event.event_id,
    )
    assert event.payment_id == payment.pk and event.attempts == 1 and event.processed_at
    assert stock_drift() == []


def test_the_same_event_applied_twice_moves_money_and_stock_once(secret):
    variant, _order, payment = order_with_payment(stock=5, quantity=2)
    stored = deliver(provider_event(payment), secret=secret)
    assert webhook_event_apply(event_pk=stored.pk) == WebhookEvent.Status.PROCESSED
    assert webhook_event_apply(event_pk=stored.pk) == WebhookEvent.Status.PROCESSED
    refresh(variant, stored)
    assert captures(payment) == 1
    assert (variant.stock, variant.reserved) == (3, 0)
    assert stored.attempts == 1


def test_two_event_ids_both_saying_succeeded_capture_once(secret):
    variant, order, payment = order_with_payment(stock=5, quantity=2)
    first, second = pay(payment, secret), pay(payment, secret)
    assert first.event_id != second.event_id
    refresh(variant, order)
    assert captures(payment) == 1
    assert payment_totals(payment=payment).captured == order.total_amount
    assert (variant.stock, variant.reserved) == (3, 0)
    assert not Refund.objects.exists()
    assert order.events.filter(to_status=Order.Status.PAID).count() == 1


def test_payment_failed_fails_the_payment_and_the_shopper_may_pay_again(secret):
    variant, order, payment = order_with_payment(stock=5, quantity=2)
    event = apply(provider_event(payment, "payment_intent.payment_failed"), secret)
    assert event.status == WebhookEvent.Status.PROCESSED
    refresh(variant, order, payment)
    assert payment.status == Payment.Status.FAILED
    assert payment.failure_reason == "Your card was declined."
    assert order.status == Order.Status.PENDING_PAYMENT
    assert (variant.stock, variant.reserved) == (5, 2)  # still held for the shopper

    second = payment_start(order=order, provider_name="sandbox")
    pay(second, secret)
    refresh(order, variant)
    assert order.status == Order.Status.PAID
    assert (variant.stock, variant.reserved) == (3, 0)


def test_failed_after_succeeded_changes_nothing(secret):
    _variant, order, payment = order_with_payment()
    pay(payment, secret)
    event = apply(provider_event(payment, "payment_intent.payment_failed"), secret)
    assert event.status == WebhookEvent.Status.PROCESSED
    refresh(order, payment)
    assert payment.status == Payment.Status.CAPTURED
    assert order.status == Order.Status.PAID
    assert captures(payment) == 1


def test_succeeded_after_failed_books_the_money(secret):
    """Stripe lets the shopper retry the same PaymentIntent after a decline: money that
    the provider reports taken is always booked."""
    variant, order, payment = order_with_payment(stock=5, quantity=2)
    apply(provider_event(payment, "payment_intent.payment_failed"), secret)
    event = apply(provider_event(payment), secret)
    assert event.status == WebhookEvent.Status.PROCESSED, event.last_error
    refresh(order, payment, variant)
    assert payment.status == Payment.Status.CAPTURED
    assert order.status == Order.Status.PAID
    assert (variant.stock, variant.reserved) == (3, 0)


def test_a_second_payment_for_a_paid_order_is_refunded(secret, django_capture_on_commit_callbacks):
    variant, order, first = order_with_payment(stock=5, quantity=2)
    second = payment_start(order=order, provider_name="sandbox")
    pay(first, secret)
    queue_clear()
    with django_capture_on_commit_callbacks(execute=True):
        pay(second, secret)
    refund = Refund.objects.get(payment=second)
    assert refund.amount == second.amount and refund.status == Refund.Status.PENDING
    assert queued_for(REFUND_TASK) == [{"refund_id": refund.pk}]
    refund_execute(refund_id=refund.pk)
    refresh(order, second, first, variant)
    assert second.status == Payment.Status.REFUNDED
    assert first.status == Payment.Status.CAPTURED
    assert order.status == Order.Status.PAID
    assert order.payment_status == Order.PaymentStatus.PAID
    assert (variant.stock, variant.reserved) == (3, 0)


def test_refund_before_succeeded_waits_then_applies(secret):
    variant, order, payment = order_with_payment(price="10.00", quantity=2)
    total = order.total_amount
    refund_event = deliver(refunded_event(payment, total_refunded=str(total)), secret=secret)

    with pytest.raises(EventNotReady):
        webhook_event_apply(event_pk=refund_event.pk)
    refund_event.refresh_from_db()
    assert refund_event.status == WebhookEvent.Status.RECEIVED
    assert not MoneyEvent.objects.exists()

    pay(payment, secret)
    assert webhook_event_apply(event_pk=refund_event.pk) == WebhookEvent.Status.PROCESSED
    refresh(payment, order, variant)
    assert payment.status == Payment.Status.REFUNDED
    assert payment_totals(payment=payment).refunded == total
    assert order.payment_status == Order.PaymentStatus.REFUNDED
    assert order.status == Order.Status.REFUNDED
    assert (variant.stock, variant.reserved) == (5, 0)  # nothing shipped: back on the shelf


@pytest.mark.parametrize(
    "overrides",
    [
        {"amount": 1},
        {"amount": 10**9},
        {"currency": "eur"},
        {"currency": "xx"},
        {"amount": "19.90"},
        {"amount": None},
    ],
    ids=["too little", "too much", "other currency", "bad currency", "string amount", "no amount"],
)
def test_amount_or_currency_mismatch_never_marks_paid(secret, overrides):
    variant, order, payment = order_with_payment()
    event = apply(provider_event(payment, **overrides), secret)
    assert event.status == WebhookEvent.Status.FLAGGED
    assert event.last_error
    refresh(order, payment, variant)
    assert payment.status == Payment.Status.PENDING
    assert order.status == Order.Status.PENDING_PAYMENT
    assert not MoneyEvent.objects.exists()
    assert (variant.stock, variant.reserved) == (5, 2)


@pytest.mark.parametrize(
    "make_event",
    [
        lambda p: provider_event(p, metadata={"payment_id": "999999999"}, id="pi_unknown"),
        lambda p: provider_event(p, metadata={}, id="pi_unknown"),
        lambda p: provider_event(p, metadata="nonsense", id="pi_unknown"),
        lambda p: provider_event(p, id="pi_someone_elses"),
        lambda p: {**provider_event(p), "data": {}},
        lambda p: {**provider_event(p), "data": "x"},
        lambda p: {"id": "evt_bare", "type": "payment_intent.succeeded"},
    ],
    ids=[
        "unknown payment id",
        "no metadata",
        "metadata not a dict",
        "other reference",
        "no object",
        "data not a dict",
        "bare",
    ],
)
def test_unknown_payment_or_metadata_is_flagged(secret, make_event):
    _variant, order, payment = order_with_payment()
    event = apply(make_event(payment), secret)
    assert event.status == WebhookEvent.Status.FLAGGED
    assert event.last_error
    refresh(order, payment)
    assert order.status == Order.Status.PENDING_PAYMENT
    assert payment.status == Payment.Status.PENDING


def test_a_payment_of_the_other_provider_is_not_matched(settings, secret):
    """A stripe event naming a sandbox payment's id finds no payment."""
    settings.STRIPE_API_KEY = "sk_test_x"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_x"
    _variant, order, payment = order_with_payment()
    stored = deliver(provider_event(payment), secret="whsec_x", provider="stripe")
    assert webhook_event_apply(event_pk=stored.pk) == WebhookEvent.Status.FLAGGED
    refresh(order)
    assert order.status == Order.Status.PENDING_PAYMENT


def test_unknown_type_is_flagged(secret):
    _variant, _order, payment = order_with_payment()
    event = apply(provider_event(payment, "payment_intent.created"), secret)
    assert event.status == WebhookEvent.Status.FLAGGED
    assert "unknown event type" in event.last_error


def test_a_flagged_event_can_be_reapplied(secret, django_capture_on_commit_callbacks):
    _variant, order, payment = order_with_payment()
    # Flagged: the payment it names is not known yet (say, metadata for another env).
    event = provider_event(payment)
    event["data"]["object"]["metadata"] = {"payment_id": "0"}
    stored = apply(event, secret)
    assert stored.status == WebhookEvent.Status.FLAGGED

    # Staff fix the cause (here: the payload) and re-apply from admin.
    stored.payload["data"]["object"]["metadata"] = {"payment_id": str(payment.pk)}
    stored.save(update_fields=["payload"])
    queue_clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert webhook_event_reapply(event_pk=stored.pk) is True
    stored.refresh_from_db()
    assert stored.status == WebhookEvent.Status.RECEIVED
    assert queued_for(APPLY_TASK) == [{"event_pk": stored.pk}]
    assert webhook_event_apply(event_pk=stored.pk) == WebhookEvent.Status.PROCESSED
    refresh(order)
    assert order.status == Order.Status.PAID
    # A processed event is not re-applied.
    assert webhook_event_reapply(event_pk=stored.pk) is False


def test_payment_start_refuses_an_order_that_is_not_awaiting_payment(secret):
    _variant, order, payment = order_with_payment()
    pay(payment, secret)
    with pytest.raises(PaymentNotAllowed):
        payment_start(order=order, provider_name="sandbox")
    assert Payment.objects.filter(order=order).count() == 1


# --- Refunds ----------------------------------------------------------------------------


def test_cancelling_a_paid_order_restocks_and_refunds_in_full(
    secret, django_capture_on_commit_callbacks
):
    variant, order, payment = order_with_payment(stock=5, quantity=2)
    pay(payment, secret)
    queue_clear()
    with django_capture_on_commit_callbacks(execute=True):
        order_cancel(order_id=order.pk, reason="changed my mind")

    refresh(order, variant, payment)
    assert order.status == Order.Status.CANCELLED
    assert (variant.stock, variant.reserved) == (5, 0)
    refund = Refund.objects.get()
    assert (refund.payment_id, refund.amount, refund.status) == (
        payment.pk,
        order.total_amount,
        "pending",
    )
    assert queued_for(REFUND_TASK) == [{"refund_id": refund.pk}]

    refund = refund_execute(refund_id=refund.pk)
    assert refund.status == Refund.Status.SUCCEEDED
    assert refund.provider_reference.startswith("sbx_re_")
    refresh(order, variant, payment)
    assert payment.status == Payment.Status.REFUNDED
    assert order.payment_status == Order.PaymentStatus.REFUNDED
    assert order.status == Order.Status.CANCELLED
    money = MoneyEvent.objects.get(kind=MoneyEvent.Kind.REFUND)
    assert money.amount == order.total_amount
    assert (variant.stock, variant.reserved) == (5, 0)  # restocked once, not twice
    assert stock_drift() == []


def test_partial_refund_keeps_the_order_paid(secret):
    variant, order, payment = order_with_payment()
    pay(payment, secret)
    refund = refund_request(payment=payment, amount=Decimal("5.00"), key="partial-1")
    refund_execute(refund_id=refund.pk)
    refresh(order, payment, variant)
    assert payment.status == Payment.Status.PARTIALLY_REFUNDED
    assert order.status == Order.Status.PAID
    assert order.payment_status == Order.PaymentStatus.PARTIALLY_REFUNDED
    totals = payment_totals(payment=payment)
    refundable = payment_refundable_amount(payment=payment)
    assert (totals.refunded, refundable) == (
        Decimal("5.00"),
        order.total_amount - Decimal("5.00"),
    )
    assert (variant.stock, variant.reserved) == (3, 0)

    # The rest, in a second refund: refunded in full.
    rest = refund_request(payment=payment, amount=refundable, key="partial-2")
    refund_execute(refund_id=rest.pk)
    refresh(order, payment)
    assert payment.status == Payment.Status.REFUNDED
    assert order.payment_status == Order.PaymentStatus.REFUNDED


def test_refunding_more_than_refundable_is_refused(secret):
    _variant, order, payment = order_with_payment()
    with pytest.raises(RefundNotAllowed):  # nothing captured yet
        refund_request(payment=payment, amount=Decimal("1.00"), key="early")
    pay(payment, secret)
    with pytest.raises(RefundNotAllowed):
        refund_request(payment=payment, amount=order.total_amount + Decimal("0.01"), key="k1")
    with pytest.raises(RefundNotAllowed):
        refund_request(payment=payment, amount=Decimal("0"), key="k0")
    refund_request(payment=payment, amount=order.total_amount - Decimal("1.00"), key="k2")
    # Pending refunds count: only 1.00 is left.
    with pytest.raises(RefundNotAllowed):
        refund_request(payment=payment, amount=Decimal("1.01"), key="k3")
    refund_request(payment=payment, amount=Decimal("1.00"), key="k4")
    assert Refund.objects.count() == 2


def test_the_same_refund_key_twice_is_one_refund(secret):
    _variant, _order, payment = order_with_payment()
    pay(payment, secret)
    first = refund_request(payment=payment, amount=Decimal("3.00"), key="same")
    second = refund_request(payment=payment, amount=Decimal("3.00"), key="same")
    assert first.pk == second.pk
    refund_execute(refund_id=first.pk)
    refund_execute(refund_id=second.pk)
    assert Refund.objects.count() == 1
    assert payment_totals(payment=payment).refunded == Decimal("3.00")


def test_refund_execute_twice_refunds_once(secret):
    _variant, _order, payment = order_with_payment()
    pay(payment, secret)
    refund = refund_request(payment=payment, amount=Decimal("4.00"), key="twice")
    refund_execute(refund_id=refund.pk)
    refund_execute(refund_id=refund.pk)
    assert MoneyEvent.objects.filter(kind=MoneyEvent.Kind.REFUND).count() == 1
    assert payment_totals(payment=payment).refunded == Decimal("4.00")


def test_refund_made_in_the_provider_dashboard_is_recorded(secret):
    _variant, order, payment = order_with_payment()
    pay(payment, secret)
    event = apply(refunded_event(payment, total_refunded="7.00"), secret)
    assert event.status == WebhookEvent.Status.PROCESSED, event.last_error
    refresh(payment, order)
    assert payment.status == Payment.Status.PARTIALLY_REFUNDED
    assert payment_totals(payment=payment).refunded == Decimal("7.00")
    assert order.payment_status == Order.PaymentStatus.PARTIALLY_REFUNDED

    # A second dashboard refund: the event carries the running total; only the difference
    # is booked.
    apply(refunded_event(payment, total_refunded=str(order.total_amount)), secret)
    refresh(payment, order)
    assert payment.status == Payment.Status.REFUNDED
    assert payment_totals(payment=payment).refunded == order.total_amount
    assert MoneyEvent.objects.filter(kind=MoneyEvent.Kind.REFUND).count() == 2


def test_charge_refunded_repeating_our_own_refund_changes_nothing(secret):
    _variant, _order, payment = order_with_payment()
    pay(payment, secret)
    refund = refund_request(payment=payment, amount=Decimal("6.00"), key="ours")
    refund_execute(refund_id=refund.pk)
    event = apply(refunded_event(payment, total_refunded="6.00"), secret)
    assert event.status == WebhookEvent.Status.PROCESSED
    assert MoneyEvent.objects.filter(kind=MoneyEvent.Kind.REFUND).count() == 1
    assert payment_totals(payment=payment).refunded == Decimal("6.00")


def test_charge_refunded_while_our_refund_is_pending_waits_for_it(secret):
    _variant, _order, payment = order_with_payment()
    pay(payment, secret)
    refund = refund_request(payment=payment, amount=Decimal("6.00"), key="in-flight")
    stored = deliver(refunded_event(payment, total_refunded="6.00"), secret=secret)
    with pytest.raises(EventNotReady):
        webhook_event_apply(event_pk=stored.pk)
    refund_execute(refund_id=refund.pk)
    assert webhook_event_apply(event_pk=stored.pk) == WebhookEvent.Status.PROCESSED
    assert payment_totals(payment=payment).refunded == Decimal("6.00")


def test_charge_refunded_above_the_capture_is_flagged(secret):
    _variant, order, payment = order_with_payment()
    pay(payment, secret)
    event = apply(refunded_event(payment, total_refunded=str(order.total_amount + 1)), secret)
    assert event.status == WebhookEvent.Status.FLAGGED
    assert not MoneyEvent.objects.filter(kind=MoneyEvent.Kind.REFUND).exists()


# --- Late payments ----------------------------------------------------------------------


def _expire(order) -> None:
    later = timezone.now() + timedelta(days=1)
    assert order_expire_unpaid(now=later) >= 1
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED


def test_late_payment_with_stock_still_there_pays_the_order_again(secret):
    variant, order, payment = order_with_payment(stock=5, quantity=2)
    _expire(order)
    refresh(variant)
    assert (variant.stock, variant.reserved) == (5, 0)  # released

    event = pay(payment, secret)
    refresh(order, variant, payment)
    assert order.status == Order.Status.PAID
    assert order.cancelled_at is None
    assert order.payment_status == Order.PaymentStatus.PAID
    assert payment.status == Payment.Status.CAPTURED
    assert (variant.stock, variant.reserved) == (3, 0)  # taken off the shelf
    assert not Refund.objects.exists()
    note = order.events.latest("id")
    assert note.to_status == Order.Status.PAID and "Late payment" in note.note
    assert event.status == WebhookEvent.Status.PROCESSED
    assert stock_drift() == []


def test_late_payment_with_stock_sold_meanwhile_is_refunded(
    secret, django_capture_on_commit_callbacks
):
    variant, order, payment = order_with_payment(stock=2, quantity=2)
    _expire(order)
    # Someone else buys the released units and pays.
    other_order = place_order(user=UserFactory(), items=[(variant, 2)])
    other_payment = payment_start(order=other_order, provider_name="sandbox")
    pay(other_payment, secret)

    queue_clear()
    with django_capture_on_commit_callbacks(execute=True):
        pay(payment, secret)
    refresh(order, variant, payment)
    assert order.status == Order.Status.CANCELLED
    assert payment.status == Payment.Status.CAPTURED  # the money is ours until refunded
    assert (variant.stock, variant.reserved) == (0, 0)
    refund = Refund.objects.get(payment=payment)
    assert (refund.amount, refund.status) == (payment.amount, Refund.Status.PENDING)
    assert queued_for(REFUND_TASK) == [{"refund_id": refund.pk}]
    assert order.events.filter(
        kind=OrderEvent.Kind.NOTE, note__contains="refunded in full"
    ).exists()

    refund_execute(refund_id=refund.pk)
    refresh(order, payment, variant)
    assert payment.status == Payment.Status.REFUNDED
    assert order.status == Order.Status.CANCELLED
    assert order.payment_status == Order.PaymentStatus.REFUNDED
    assert (variant.stock, variant.reserved) == (0, 0)  # never restocked: it was not ours
    assert stock_drift() == []


def test_late_payment_on_a_shopper_cancelled_order_is_refunded_and_never_revives_it(
    secret, django_capture_on_commit_callbacks
):
    """Issue 9 item 1: before, this order came back `paid` and the stock was sold again."""
    variant, order, payment = order_with_payment(stock=5, quantity=2)
    order_cancel(order_id=order.pk, by=order.user)
    queue_clear()
    with django_capture_on_commit_callbacks(execute=True):
        event = pay(payment, secret)
    refresh(order, variant, payment)
    assert event.status == WebhookEvent.Status.PROCESSED
    assert order.status == Order.Status.CANCELLED
    assert order.cancelled_by_kind == Order.CancelledBy.CUSTOMER
    assert (variant.stock, variant.reserved) == (5, 0)  # never sold again
    assert payment.status == Payment.Status.CAPTURED  # booked: it is ours until refunded
    refund = Refund.objects.get(payment=payment)
    assert (refund.amount, refund.reason) == (payment.amount, "order cancelled by customer")
    assert queued_for(REFUND_TASK) == [{"refund_id": refund.pk}]
    assert "refunded in full" in order.events.latest("id").note
    refund_execute(refund_id=refund.pk)
    refresh(order, payment)
    assert payment.status == Payment.Status.REFUNDED
    assert order.status == Order.Status.CANCELLED
    assert stock_drift() == []
