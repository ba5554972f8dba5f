"""A deliberate cancel sticks (issue 9, item 1): cancelling voids the order's pending
payments, at once here and at the provider after commit; money that still arrives for an
order a person cancelled is refunded in full and never revives it. Only an order the
expiry task cancelled comes back, and only while its stock is there and buyable."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from catalog.models import Merchant, Variant
from orders.errors import InvalidTransition
from orders.models import Order
from orders.selectors import stock_drift
from orders.services import order_cancel_kind, order_expire_unpaid
from payments import tasks
from payments.errors import PaymentNotAllowed, ProviderError
from payments.models import Payment, Refund, WebhookEvent
from payments.providers.sandbox import SandboxProvider
from payments.services.cancel import (
    order_cancel,
    payment_void_execute,
    payment_voids_requeue,
)
from payments.services.refunds import refund_execute
from payments.services.start import payment_start
from payments.services.webhooks import webhook_event_apply
from payments.tests.fake_stripe import fake_stripe_fixture  # noqa: F401 - the fixture
from payments.tests.support import (
    deliver,
    order_with_payment,
    provider_event,
    queue_clear,
    queued_for,
)

pytestmark = pytest.mark.django_db

VOID_TASK = "payments.tasks.payment_void_execute_task"
REFUND_TASK = "payments.tasks.refund_execute_task"


def _money_arrives(payment, settings, provider="sandbox") -> WebhookEvent:
    secret = (
        settings.SANDBOX_WEBHOOK_SECRET if provider == "sandbox" else settings.STRIPE_WEBHOOK_SECRET
    )
    stored = deliver(provider_event(payment), secret=secret, provider=provider)
    webhook_event_apply(event_pk=stored.pk)
    stored.refresh_from_db()
    return stored


def _refresh(*objs):
    for obj in objs:
        obj.refresh_from_db()


# --- The audit's scenario, through the pages ---------------------------------------------


def test_cancel_on_the_order_page_then_pay_on_the_open_sandbox_page(client, settings, monkeypatch):
    """Place, open the sandbox page, cancel on the order page, press Pay on the page
    opened before: before this fix the order became paid again."""
    sent = []
    monkeypatch.setattr(tasks.sandbox_webhook_send_task, "delay", lambda **kw: sent.append(kw))
    variant, order, payment = order_with_payment(stock=5, quantity=2)
    client.force_login(order.user)
    assert ">Pay</button>" in client.get(payment.redirect_url).content.decode()

    client.post(reverse("orders:cancel", args=[order.number]))
    response = client.post(payment.redirect_url, {"outcome": "pay"}, follow=True)

    assert sent == []  # the sandbox sends no money for it
    page = response.content.decode()
    assert "was cancelled, so it can no longer be paid" in page
    assert ">Pay</button>" not in page
    _refresh(order, payment, variant)
    assert order.status == Order.Status.CANCELLED
    assert order.cancelled_by_kind == Order.CancelledBy.CUSTOMER
    assert payment.status == Payment.Status.FAILED and payment.void_requested_at is not None
    assert (variant.stock, variant.reserved) == (5, 0)


def test_pay_pressed_just_before_the_cancel_is_refunded_not_revived(settings):
    """The Pay press won the race (its event was on its way): the money is booked and
    given back, and the order stays cancelled."""
    variant, order, payment = order_with_payment(stock=5, quantity=2)
    order_cancel(order_id=order.pk, by=order.user)

    event = _money_arrives(payment, settings)

    _refresh(order, payment, variant)
    assert event.status == WebhookEvent.Status.PROCESSED
    assert order.status == Order.Status.CANCELLED
    assert payment.status == Payment.Status.CAPTURED
    refund = Refund.objects.get(payment=payment)
    assert refund.amount == payment.amount
    refund_execute(refund_id=refund.pk)
    _refresh(order, payment, variant)
    assert payment.status == Payment.Status.REFUNDED
    assert order.status == Order.Status.CANCELLED
    assert order.payment_status == Order.PaymentStatus.REFUNDED
    assert (variant.stock, variant.reserved) == (5, 0)
    assert stock_drift() == []


# --- Who cancelled decides ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "kind"),
    [("customer", "customer"), ("merchant", "merchant"), ("superuser", "staff"), (None, "staff")],
)
def test_late_money_after_any_deliberate_cancel_is_refunded(settings, who, kind):
    variant, order, payment = order_with_payment(stock=5, quantity=1)
    by = {
        "customer": order.user,
        "merchant": UserFactory(is_staff=True),
        "superuser": UserFactory(is_staff=True, is_superuser=True),
        None: None,
    }[who]
    if who == "merchant":
        variant.product.merchant.staff.add(by)

    order_cancel(order_id=order.pk, by=by, reason="no longer wanted")
    _money_arrives(payment, settings)

    _refresh(order, variant)
    assert (order.status, order.cancelled_by_kind) == (Order.Status.CANCELLED, kind)
    assert order.cancel_reason == "no longer wanted"
    assert Refund.objects.get(payment=payment).reason == f"order cancelled by {kind}"
    assert (variant.stock, variant.reserved) == (5, 0)


def test_late_money_after_expiry_restores_the_order_if_the_stock_is_there(settings):
    variant, order, payment = order_with_payment(stock=5, quantity=2)
    order_expire_unpaid(now=timezone.now() + timedelta(days=1))
    _refresh(order, payment)
    assert order.cancelled_by_kind == Order.CancelledBy.EXPIRED
    assert payment.status == Payment.Status.PENDING  # expiry voids nothing: money may come

    _money_arrives(payment, settings)

    _refresh(order, variant)
    assert (order.status, order.cancelled_by_kind, order.cancel_reason) == ("paid", "", "")
    assert (variant.stock, variant.reserved) == (3, 0)
    assert not Refund.objects.exists()


@pytest.mark.parametrize("withdrawn", ["variant", "merchant"])
def test_late_money_after_expiry_is_refunded_when_the_goods_are_no_longer_sold(settings, withdrawn):
    """Stock is there, but the variant was withdrawn or its merchant suspended meanwhile:
    reviving would sell what the shop no longer sells."""
    variant, order, payment = order_with_payment(stock=5, quantity=2)
    order_expire_unpaid(now=timezone.now() + timedelta(days=1))
    if withdrawn == "variant":
        Variant.objects.filter(pk=variant.pk).update(is_active=False)
    else:
        Merchant.objects.filter(pk=variant.product.merchant_id).update(is_active=False)

    _money_arrives(payment, settings)

    _refresh(order, variant)
    assert order.status == Order.Status.CANCELLED
    assert Refund.objects.get(payment=payment).reason == "late payment, stock gone"
    assert (variant.stock, variant.reserved) == (5, 0)


def test_cancel_kinds_follow_who_asks():
    _variant, order, _payment = order_with_payment()
    merchant_staff = UserFactory(is_staff=True)
    assert order_cancel_kind(order=order, by=order.user) == Order.CancelledBy.CUSTOMER
    assert order_cancel_kind(order=order, by=merchant_staff) == Order.CancelledBy.MERCHANT
    superuser = UserFactory(is_superuser=True)
    assert order_cancel_kind(order=order, by=superuser) == Order.CancelledBy.STAFF
    assert order_cancel_kind(order=order, by=None) == Order.CancelledBy.STAFF


def test_the_database_holds_who_cancelled_with_the_status():
    _variant, order, _payment = order_with_payment()
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED)
    order_cancel(order_id=order.pk, by=order.user)
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.filter(pk=order.pk).update(cancelled_by_kind="")
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.filter(pk=order.pk).update(cancelled_by_kind="somebody")


# --- Voiding -----------------------------------------------------------------------------


def test_cancelling_voids_every_pending_payment_and_queues_the_provider_call(
    django_capture_on_commit_callbacks,
):
    _variant, order, first = order_with_payment()
    second = payment_start(order=order, provider_name="sandbox")
    queue_clear()

    with django_capture_on_commit_callbacks(execute=True):
        order_cancel(order_id=order.pk, by=order.user)

    _refresh(first, second)
    for payment in (first, second):
        assert payment.status == Payment.Status.FAILED
        assert payment.failure_reason == "Voided: the order was cancelled."
        assert payment.void_requested_at is not None and payment.voided_at is None
    assert sorted(kw["payment_id"] for kw in queued_for(VOID_TASK)) == [first.pk, second.pk]

    assert payment_void_execute(payment_id=first.pk) is True
    first.refresh_from_db()
    assert first.voided_at is not None
    assert payment_void_execute(payment_id=first.pk) is False  # done once


def test_a_void_the_broker_never_took_is_queued_again_by_the_sweeper():
    _variant, order, payment = order_with_payment()
    order_cancel(order_id=order.pk, by=order.user)  # on_commit never runs: a lost task
    queue_clear()
    Payment.objects.filter(pk=payment.pk).update(
        void_requested_at=timezone.now() - timedelta(minutes=5)
    )

    assert payment_voids_requeue() == 1
    assert queued_for(VOID_TASK) == [{"payment_id": payment.pk}]
    payment_void_execute(payment_id=payment.pk)
    assert payment_voids_requeue() == 0


def test_a_cancel_while_the_provider_opens_the_payment_voids_it_too(
    monkeypatch, django_capture_on_commit_callbacks
):
    """Another writer first (the shopper cancels in another tab while Pay is opening the
    payment at the provider): the payment ends voided, never payable."""
    _variant, order, _payment = order_with_payment()
    Payment.objects.all().delete()
    original = SandboxProvider.create_payment

    def cancel_first(self, *, payment):
        order_cancel(order_id=order.pk, by=order.user)
        return original(self, payment=payment)

    monkeypatch.setattr(SandboxProvider, "create_payment", cancel_first)
    queue_clear()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(PaymentNotAllowed):
        payment_start(order=order, provider_name="sandbox")

    payment = Payment.objects.get(order=order)
    assert payment.status == Payment.Status.FAILED and payment.provider_reference
    assert {"payment_id": payment.pk} in queued_for(VOID_TASK)


def test_a_cancel_that_is_refused_voids_nothing(settings):
    _variant, order, payment = order_with_payment()
    _money_arrives(payment, settings)
    staff = UserFactory(is_staff=True, is_superuser=True)
    from orders.services import order_acknowledge

    order_acknowledge(order_id=order.pk, by=staff)
    second = Payment.objects.create(
        order=order, provider="sandbox", amount=order.total_amount, currency=order.currency
    )

    with pytest.raises(InvalidTransition):
        order_cancel(order_id=order.pk, by=order.user)

    second.refresh_from_db()
    assert second.status == Payment.Status.PENDING and second.void_requested_at is None


# --- Stripe: cancel the PaymentIntent, outside the transaction --------------------------


@pytest.fixture
def stripe_order(fake_stripe):
    _variant, order, _sandbox = order_with_payment(stock=5, quantity=1)
    Payment.objects.all().delete()
    return order, payment_start(order=order, provider_name="stripe")


def test_cancelling_cancels_the_payment_intent_after_commit_with_an_idempotency_key(
    fake_stripe, stripe_order, django_capture_on_commit_callbacks
):
    order, payment = stripe_order
    cancel_path = f"/v1/payment_intents/{payment.provider_reference}/cancel"

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        order_cancel(order_id=order.pk, by=order.user)
    assert fake_stripe.requests_to(cancel_path) == []  # nothing inside the transaction
    assert len(callbacks) == 1

    assert payment_void_execute(payment_id=payment.pk) is True
    [call] = fake_stripe.requests_to(cancel_path)
    assert call.idempotency_key == f"bazaar-payment-void-{payment.pk}"
    assert call.params["cancellation_reason"] == "abandoned"
    assert fake_stripe.intents[payment.provider_reference]["status"] == "canceled"
    payment.refresh_from_db()
    assert payment.voided_at is not None


def test_an_intent_that_succeeded_first_cannot_be_voided_and_its_money_is_refunded(
    fake_stripe, stripe_order, settings
):
    order, payment = stripe_order
    fake_stripe.intents[payment.provider_reference]["status"] = "succeeded"
    order_cancel(order_id=order.pk, by=order.user)

    assert payment_void_execute(payment_id=payment.pk) is False  # done, nothing to stop
    payment.refresh_from_db()
    assert payment.voided_at is not None

    _money_arrives(payment, settings, provider="stripe")
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert Refund.objects.get(payment=payment).amount == payment.amount


def test_stripe_unreachable_leaves_the_void_to_retry(fake_stripe, stripe_order, settings):
    order, payment = stripe_order
    order_cancel(order_id=order.pk, by=order.user)
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"

    with pytest.raises(ProviderError):
        payment_void_execute(payment_id=payment.pk)

    payment.refresh_from_db()
    assert payment.voided_at is None  # the task retries; the sweeper backs it up
