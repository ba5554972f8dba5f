"""Cancelling an order from payments' floor: the order's state is the orders service's
call; the money it holds is given back and its pending payments are voided here, in the
same transaction. The provider hears of a void after commit, as it hears of a refund."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.lines import order_lines_cancel as order_lines_mark_cancelled
from orders.models import Order
from orders.services import order_mark_cancelled
from payments import transitions
from payments.models import Payment, PaymentStatus
from payments.providers import provider_get
from payments.services.refunds import payments_refund_amount, payments_refund_in_full
from shop.core.tasks import enqueue

if TYPE_CHECKING:
    from accounts.models import User

# Payments that may still turn into money: voided when their order is cancelled.
VOIDABLE = (PaymentStatus.PENDING, PaymentStatus.AUTHORIZED)


@transaction.atomic
def order_cancel(
    *, order_id: int, by: User | None = None, reason: str = "", kind: str | None = None
) -> Order:
    """Cancel an order awaiting payment (its reservation is released) or a paid order no
    merchant has acknowledged or shipped (its stock returns to the shelf and its payments
    are refunded in full). Either way its pending payments are voided: the sandbox page
    refuses them at once, and the provider is told after commit (`payment_void_execute`).
    Money that still arrives is refunded, never used to revive the order
    (`orders.services.order_payment_captured`).

    The one cancel every entry point calls: the order page, the API, the admin. `kind`
    (`Order.CancelledBy`) defaults to what `by` is. Lock order: the order, then its
    payments, then variants."""
    order = Order.objects.select_for_update().get(pk=order_id)
    payments = list(Payment.objects.select_for_update().filter(order=order).order_by("pk"))
    money_taken = order_mark_cancelled(order=order, by=by, reason=reason, kind=kind)
    if money_taken:
        payments_refund_in_full(order=order, key=f"order-cancel-{order.pk}", by=by, reason=reason)
    for payment in payments:
        if payment.status in VOIDABLE:
            payment_mark_voided(payment=payment)
    return order


def payment_mark_voided(*, payment: Payment) -> None:
    """Fail a locked pending payment because its order was cancelled, and queue the
    provider's void after commit. Failed, not a status of its own: API.md's payment
    statuses are fixed, and money the provider still reports for it is booked (failed ->
    captured) and refunded like any late money."""
    transitions.transition(payment, to=PaymentStatus.FAILED)
    payment.failure_reason = _("Voided: the order was cancelled.")[:255]
    payment.void_requested_at = timezone.now()
    payment.save(update_fields=["status", "failure_reason", "void_requested_at", "updated_at"])
    payment_pk = payment.pk
    transaction.on_commit(lambda: payment_void_enqueue(payment_pk=payment_pk))


def payment_void_enqueue(*, payment_pk: int) -> bool:
    """Queue a void's provider call; False (logged) when the broker cannot take it (the
    sweeper, payment_voids_requeue, queues it once the broker is back)."""
    from payments.tasks import payment_void_execute_task

    return enqueue(payment_void_execute_task, payment_id=payment_pk)


def payment_void_execute(*, payment_id: int) -> bool:
    """Tell the provider a voided payment must not take money (idempotent: its key is the
    payment's). Outside any transaction while the provider is called; the answer is
    recorded in a transaction of its own. Returns whether the provider voided it (False:
    it could not, e.g. the money was taken first: that capture is refunded on arrival).
    ProviderError (unreachable) propagates, so the task retries."""
    payment = Payment.objects.get(pk=payment_id)
    if payment.void_requested_at is None or payment.voided_at is not None:
        return False
    voided = True
    if payment.provider_reference:  # no reference: the provider never opened it
        voided = provider_get(payment.provider).void(payment=payment)
    with transaction.atomic():
        Payment.objects.filter(pk=payment_id, voided_at__isnull=True).update(
            voided_at=timezone.now(), updated_at=timezone.now()
        )
    return voided


def payment_voids_requeue(*, older_than_seconds: int = 60, limit: int = 500) -> int:
    """Queue again voids whose provider call never happened (a broker outage, a lost task)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    pks = list(
        Payment.objects.filter(
            void_requested_at__isnull=False, voided_at__isnull=True, void_requested_at__lt=cutoff
        )
        .order_by("void_requested_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(payment_void_enqueue(payment_pk=pk) for pk in pks)


@transaction.atomic
def order_lines_cancel(
    *, order_id: int, quantities: Mapping[int, int], by: User | None = None, reason: str = ""
) -> Order:
    """A merchant cannot send these units ({order line id: quantity}) of a paid order: they
    are cancelled, go back on the shelf and exactly their price is refunded (with the
    shipping when nothing of the order is left to send and nothing was sent).
    Lock order: the order, then its payments, then lines and variants."""
    order = Order.objects.select_for_update().get(pk=order_id)
    list(Payment.objects.select_for_update().filter(order=order).order_by("pk"))
    cancelled = order_lines_mark_cancelled(order=order, quantities=quantities, by=by, reason=reason)
    payments_refund_amount(
        order=order,
        amount=cancelled.amount,
        key=f"order-lines-cancel-{cancelled.event_id}",
        by=by,
        reason=reason,
    )
    return order
