"""The Celery side, with a real broker (Redis) and real transactions: task functions
called directly, a broker that is really down, and races on real threads."""

import json
from collections import Counter
from decimal import Decimal

import pytest
from django.test import Client
from kombu.exceptions import OperationalError

from catalog.models import Variant
from orders.models import Order
from orders.selectors import stock_drift
from payments.errors import EventNotReady
from payments.models import MoneyEvent, Payment, Refund, WebhookEvent
from payments.providers.base import sign
from payments.selectors import payment_totals
from payments.services.cancel import order_cancel
from payments.services.refunds import refund_execute, refund_request
from payments.services.webhooks import webhook_event_apply, webhook_events_requeue
from payments.tasks import (
    refund_execute_task,
    webhook_event_apply_task,
    webhook_events_requeue_task,
)
from payments.tests.support import (
    PublishCost,
    broker_down,
    broker_down_counted,
    deliver,
    order_with_payment,
    provider_event,
    queue_clear,
    queued,
    queued_for,
    refunded_event,
)
from shop.core.testing import run_together

pytestmark = pytest.mark.django_db(transaction=True)

APPLY_TASK = "payments.tasks.webhook_event_apply_task"
REFUND_TASK = "payments.tasks.refund_execute_task"
TASKS = {APPLY_TASK: webhook_event_apply_task, REFUND_TASK: refund_execute_task}
# Only so that a publish that hangs fails its test; how fast it fails is counted, not timed.
HANG_GUARD = 60


@pytest.fixture(autouse=True)
def _empty_queue():
    queue_clear()
    yield
    queue_clear()


@pytest.fixture
def secret(settings):
    return settings.SANDBOX_WEBHOOK_SECRET


def work_off_queue() -> list[str]:
    """Be the worker: take every payments message off the broker and run its task
    function directly (no eager mode); returns the names run, in order ("<name> retry"
    where the task asked to be retried)."""
    ran = []
    messages = queued()
    queue_clear()
    for name, kwargs in messages:
        if name in TASKS:
            try:
                TASKS[name](**kwargs)
            except EventNotReady:  # called directly, a task's retry re-raises its cause
                name = f"{name} retry"
            ran.append(name)
    return ran


def payments_queued() -> list[tuple[str, dict]]:
    return [(name, kwargs) for name, kwargs in queued() if name in TASKS]


def post_webhook(event: dict, secret: str, client: Client | None = None):
    body = json.dumps(event).encode()
    return (client or Client()).post(
        "/payments/webhooks/sandbox/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload=body, secret=secret),
    )


# --- The apply task ---------------------------------------------------------------------


def test_webhook_is_queued_on_commit_and_the_task_applies_it_once(secret):
    variant, order, payment = order_with_payment(stock=5, quantity=2)
    response = post_webhook(provider_event(payment), secret)
    assert response.status_code == 200
    stored = WebhookEvent.objects.get()
    assert queued_for(APPLY_TASK) == [{"event_pk": stored.pk}]

    assert webhook_event_apply_task(event_pk=stored.pk) == WebhookEvent.Status.PROCESSED
    # The broker delivers it again (acks_late after a worker crash): nothing moves twice.
    assert webhook_event_apply_task(event_pk=stored.pk) == WebhookEvent.Status.PROCESSED
    order.refresh_from_db()
    variant.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert (variant.stock, variant.reserved) == (3, 0)
    assert MoneyEvent.objects.filter(payment=payment).count() == 1


def test_refund_before_its_capture_is_retried_by_the_task_then_applied(secret):
    _variant, order, payment = order_with_payment()
    refund_event = deliver(refunded_event(payment, total_refunded="3.00"), secret=secret)
    # Called directly, the task's retry re-raises what it would retry on.
    with pytest.raises(EventNotReady):
        webhook_event_apply_task(event_pk=refund_event.pk)
    refund_event.refresh_from_db()
    assert refund_event.status == WebhookEvent.Status.RECEIVED
    assert refund_event.last_error == ""

    deliver(provider_event(payment), secret=secret)
    queue_clear()
    # The sweeper picks up both (the refund's retry may have been lost), oldest first: the
    # refund is not ready yet, the capture applies.
    assert webhook_events_requeue(older_than_seconds=0) == 2
    assert work_off_queue() == [f"{APPLY_TASK} retry", APPLY_TASK]
    refund_event.refresh_from_db()
    assert refund_event.status == WebhookEvent.Status.RECEIVED
    # The next sweep: now it applies.
    assert webhook_events_requeue(older_than_seconds=0) == 1
    assert work_off_queue() == [APPLY_TASK]
    refund_event.refresh_from_db()
    assert refund_event.status == WebhookEvent.Status.PROCESSED
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.status == Payment.Status.PARTIALLY_REFUNDED
    assert payment_totals(payment=payment).refunded == Decimal("3.00")
    assert order.payment_status == Order.PaymentStatus.PARTIALLY_REFUNDED


def test_refund_task_run_twice_refunds_once(secret):
    _variant, _order, payment = order_with_payment()
    webhook_event_apply(event_pk=deliver(provider_event(payment), secret=secret).pk)
    refund = refund_request(payment=payment, amount=Decimal("2.50"), key="task-twice")
    refund_execute_task(refund_id=refund.pk)
    refund_execute_task(refund_id=refund.pk)
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert MoneyEvent.objects.filter(kind=MoneyEvent.Kind.REFUND).count() == 1


# --- Broker outage ----------------------------------------------------------------------


def assert_fails_fast(cost: PublishCost) -> None:
    """One publish against a dead broker gives up within API.md's "a second or two": it
    tries at most twice, each connect bounded by a timeout, with no pause in between
    (settings.CELERY_BROKER_TRANSPORT_OPTIONS)."""
    assert 1 <= len(cost.connect_timeouts) <= 2, cost
    assert None not in cost.connect_timeouts, cost
    assert cost.pauses == [], cost
    assert cost.worst_case_seconds <= 2.0, cost


def test_broker_down_webhook_still_answers_200_fast_and_is_applied_once_it_is_back(secret, caplog):
    variant, order, payment = order_with_payment(stock=5, quantity=2)
    with broker_down_counted() as cost:
        # On a thread of its own only so that a publish that hangs fails the test.
        [response] = run_together(
            [lambda: post_webhook(provider_event(payment), secret)], timeout=HANG_GUARD
        )
        assert response.status_code == 200, response.content
        assert_fails_fast(cost)
        # The sweeper cannot queue it either while the broker is down, and says so.
        assert webhook_events_requeue(older_than_seconds=0) == 0

    stored = WebhookEvent.objects.get()
    assert stored.status == WebhookEvent.Status.RECEIVED
    # The enqueue was tried (after the commit, inside the request) and failed.
    assert (
        f"webhook_event_apply_task({{'event_pk': {stored.pk}}}) left for its sweeper" in caplog.text
    )
    assert payments_queued() == []  # nothing reached the broker

    # Broker back. The beat task leaves events younger than 30 s alone (their own enqueue
    # may be under way); the sweep that reaches this one queues it; a worker applies it.
    assert webhook_events_requeue_task() == 0
    assert webhook_events_requeue(older_than_seconds=0) == 1
    assert queued_for(APPLY_TASK) == [{"event_pk": stored.pk}]
    assert work_off_queue() == [APPLY_TASK]
    order.refresh_from_db()
    variant.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert (variant.stock, variant.reserved) == (3, 0)
    assert webhook_events_requeue(older_than_seconds=0) == 0  # nothing left behind


def test_broker_down_apply_async_fails_fast():
    with broker_down_counted() as cost:
        [outcome] = run_together(
            [lambda: webhook_event_apply_task.apply_async(kwargs={"event_pk": 1}, retry=False)],
            timeout=HANG_GUARD,
        )
    assert isinstance(outcome, OperationalError), outcome
    assert_fails_fast(cost)


def test_broker_down_cancelling_a_paid_order_works_and_its_refund_is_swept_up(secret):
    variant, order, payment = order_with_payment(stock=5, quantity=2)
    webhook_event_apply(event_pk=deliver(provider_event(payment), secret=secret).pk)
    queue_clear()
    with broker_down():
        order_cancel(order_id=order.pk, reason="broker is down")  # no error after commit
    refund = Refund.objects.get()
    assert refund.status == Refund.Status.PENDING
    assert payments_queued() == []

    Refund.objects.filter(pk=refund.pk).update(created_at=refund.created_at.replace(year=2000))
    assert webhook_events_requeue_task() == 1
    assert work_off_queue() == [REFUND_TASK]
    refund.refresh_from_db()
    payment.refresh_from_db()
    order.refresh_from_db()
    variant.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert payment.status == Payment.Status.REFUNDED
    assert (order.status, order.payment_status) == ("cancelled", "refunded")
    assert (variant.stock, variant.reserved) == (5, 0)


# --- Races ------------------------------------------------------------------------------


def money_consistent(order: Order) -> None:
    """Every payment's status agrees with its money events, and stock with the orders."""
    for payment in Payment.objects.filter(order=order):
        totals = payment_totals(payment=payment)
        assert totals.captured in (Decimal("0"), payment.amount), payment
        expected = {
            (False, False): {"pending", "failed", "authorized"},
            (True, False): {"captured"},
            (True, True): {"refunded"}
            if totals.refunded == totals.captured
            else {"partially_refunded"},
        }[(totals.captured > 0, totals.refunded > 0)]
        assert payment.status in expected, (payment.status, totals)
    assert stock_drift() == []


def test_the_same_event_delivered_five_times_at_once_is_stored_once(secret):
    _variant, _order, payment = order_with_payment()
    event = provider_event(payment)
    results = run_together([lambda: post_webhook(event, secret).status_code for _ in range(5)])
    assert results == [200] * 5
    assert WebhookEvent.objects.count() == 1
    # Queued at least once (by the delivery that stored it), and applying them all is one capture.
    assert queued_for(APPLY_TASK) == [{"event_pk": WebhookEvent.objects.get().pk}]
    work_off_queue()
    assert MoneyEvent.objects.count() == 1


def test_the_apply_task_run_by_two_workers_at_once_captures_once(secret):
    variant, order, payment = order_with_payment(stock=5, quantity=2)
    stored = deliver(provider_event(payment), secret=secret)
    results = run_together([lambda: webhook_event_apply_task(event_pk=stored.pk)] * 2)
    assert results == ["processed", "processed"]
    assert MoneyEvent.objects.filter(kind=MoneyEvent.Kind.CAPTURE).count() == 1
    variant.refresh_from_db()
    assert (variant.stock, variant.reserved) == (3, 0)
    order.refresh_from_db()
    money_consistent(order)


def test_two_succeeded_events_with_different_ids_at_once_capture_once(secret):
    variant, _order, payment = order_with_payment(stock=5, quantity=2)
    first = deliver(provider_event(payment), secret=secret)
    second = deliver(provider_event(payment), secret=secret)
    results = run_together(
        [
            lambda: webhook_event_apply(event_pk=first.pk),
            lambda: webhook_event_apply(event_pk=second.pk),
        ]
    )
    assert results == ["processed", "processed"]
    assert MoneyEvent.objects.filter(kind=MoneyEvent.Kind.CAPTURE).count() == 1
    variant.refresh_from_db()
    assert (variant.stock, variant.reserved) == (3, 0)
    assert not Refund.objects.exists()


@pytest.mark.parametrize("round_", range(4))
def test_cancel_racing_a_succeeded_event_never_double_counts(secret, round_):
    variant, order, payment = order_with_payment(stock=5, quantity=2)
    stored = deliver(provider_event(payment), secret=secret)
    results = run_together(
        [lambda: order_cancel(order_id=order.pk), lambda: webhook_event_apply(event_pk=stored.pk)]
    )
    assert results[1] == "processed", results
    order.refresh_from_db()
    variant.refresh_from_db()
    payment.refresh_from_db()
    assert MoneyEvent.objects.filter(kind=MoneyEvent.Kind.CAPTURE).count() == 1
    if isinstance(results[0], Exception):
        # Paid first, then the cancel of a paid order... is allowed (refund in full), so
        # an exception here is a bug.
        raise AssertionError(results[0])
    refunds = list(Refund.objects.all())
    if order.status == Order.Status.PAID:
        # Cancelled first; the payment came late and took the stock off the shelf again.
        assert refunds == []
        assert (variant.stock, variant.reserved) == (3, 0)
    else:
        # Paid first, then cancelled: restocked and refunded in full.
        assert order.status == Order.Status.CANCELLED
        assert [r.amount for r in refunds] == [payment.amount]
        assert (variant.stock, variant.reserved) == (5, 0)
        work_off_queue()
        payment.refresh_from_db()
        assert payment.status == Payment.Status.REFUNDED
    money_consistent(order)


def test_two_workers_executing_one_refund_refund_once(secret):
    _variant, _order, payment = order_with_payment()
    webhook_event_apply(event_pk=deliver(provider_event(payment), secret=secret).pk)
    refund = refund_request(payment=payment, amount=Decimal("5.00"), key="race")
    results = run_together([lambda: refund_execute(refund_id=refund.pk).status] * 2)
    assert results == ["succeeded", "succeeded"]
    assert MoneyEvent.objects.filter(kind=MoneyEvent.Kind.REFUND).count() == 1
    assert payment_totals(payment=payment).refunded == Decimal("5.00")


def test_stock_never_drifts_over_a_mixed_run(secret):
    """Pay, fail, cancel and expire side by side; reservations always match the orders."""
    outcomes = []
    for kind in ("pay", "fail", "cancel", "pay-then-cancel"):
        _variant, order, payment = order_with_payment(stock=3, quantity=1)
        if kind in ("pay", "pay-then-cancel"):
            webhook_event_apply(event_pk=deliver(provider_event(payment), secret=secret).pk)
        if kind == "fail":
            event = provider_event(payment, "payment_intent.payment_failed")
            webhook_event_apply(event_pk=deliver(event, secret=secret).pk)
        if kind in ("cancel", "pay-then-cancel"):
            order_cancel(order_id=order.pk)
        outcomes.append(Order.objects.get(pk=order.pk).status)
        assert stock_drift() == []
    work_off_queue()
    assert outcomes == ["paid", "pending_payment", "cancelled", "cancelled"]
    assert Counter(Variant.objects.values_list("reserved", flat=True)) == Counter({0: 3, 1: 1})
