"""Refunds: requested on a locked payment, executed at the provider by a task, booked once.

A refund is a pending row with an idempotency key, written in the caller's transaction;
the provider is called after commit (refund_execute, queued, swept after a broker
outage) and its answer booked as a money event in a transaction of its own."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import Order
from orders.services import order_payment_refunded
from payments import transitions
from payments.errors import RefundNotAllowed
from payments.models import MoneyEvent, Payment, PaymentStatus, Refund
from payments.providers import provider_get
from payments.selectors import order_net_captured, payment_refundable_amount, payment_totals
from shop.core.money import Money
from shop.core.tasks import enqueue

if TYPE_CHECKING:
    from accounts.models import User


def refund_request(
    *, payment: Payment, amount: Decimal, key: str, reason: str = "", by: User | None = None
) -> Refund:
    """Record a pending refund (in the caller's transaction, payment locked by the caller);
    the provider is called by a task once this commits. The same key never refunds twice."""
    existing = Refund.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    refundable = payment_refundable_amount(payment=payment)
    if amount <= 0 or amount > refundable:
        raise RefundNotAllowed(
            _("At most %(amount)s can be refunded on this payment.")
            % {"amount": Money(refundable, payment.currency)}
        )
    refund = Refund.objects.create(
        payment=payment,
        amount=amount,
        currency=payment.currency,
        reason=reason[:255],
        idempotency_key=key,
        created_by=by,
    )
    transaction.on_commit(lambda: refund_enqueue(refund_pk=refund.pk))
    return refund


@transaction.atomic
def refund_partial(
    *, payment_id: int, amount: Decimal, key: str, reason: str = "", by: User | None = None
) -> Refund:
    """Staff refund part of a payment (an amount, or the sum of chosen lines): the payment
    and its order are locked here, in the lock order, so this is all a caller needs."""
    order_id = Payment.objects.values_list("order_id", flat=True).get(pk=payment_id)
    Order.objects.select_for_update().get(pk=order_id)
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    return refund_request(payment=payment, amount=amount, key=key, reason=reason, by=by)


def payments_refund_in_full(
    *, order: Order, key: str, by: User | None = None, reason: str = ""
) -> list[Refund]:
    """Refund everything still refundable on a locked order's payments (order cancelled)."""
    refunds = []
    for payment in Payment.objects.select_for_update().filter(order=order).order_by("pk"):
        refundable = payment_refundable_amount(payment=payment)
        if refundable > 0:
            refunds.append(
                refund_request(
                    payment=payment,
                    amount=refundable,
                    key=f"{key}-{payment.pk}",
                    reason=reason,
                    by=by,
                )
            )
    return refunds


def payments_refund_amount(
    *, order: Order, amount: Decimal, key: str, by: User | None = None, reason: str = ""
) -> list[Refund]:
    """Refund `amount` of a locked order's money, from its payments oldest first (lines a
    merchant could not send, goods that came back). More than the order holds is
    RefundNotAllowed; the same key never refunds twice."""
    payments = list(Payment.objects.select_for_update().filter(order=order).order_by("pk"))
    done = Refund.objects.filter(idempotency_key__startswith=f"{key}-", payment__order=order)
    if done.exists():
        return list(done)
    available = {payment.pk: payment_refundable_amount(payment=payment) for payment in payments}
    if amount <= 0 or amount > sum(available.values(), Decimal("0.00")):
        raise RefundNotAllowed(
            _("At most %(amount)s can be refunded on this order.")
            % {"amount": Money(sum(available.values(), Decimal("0.00")), order.currency)}
        )
    refunds, left = [], amount
    for payment in payments:
        part = min(left, available[payment.pk])
        if part <= 0:
            continue
        refunds.append(
            refund_request(
                payment=payment, amount=part, key=f"{key}-{payment.pk}", reason=reason, by=by
            )
        )
        left -= part
        if left <= 0:
            break
    return refunds


def refunds_settled(*, key: str) -> bool | None:
    """Whether every refund requested under `key` (as payments_refund_amount names them)
    has gone through at the provider: True, False while any is pending, None if there are
    none (or one failed for good)."""
    statuses = set(
        Refund.objects.filter(idempotency_key__startswith=f"{key}-").values_list(
            "status", flat=True
        )
    )
    if not statuses or Refund.Status.FAILED in statuses:
        return None
    return statuses == {Refund.Status.SUCCEEDED}


def refund_enqueue(*, refund_pk: int) -> bool:
    """Queue a refund's provider call; False (logged) when the broker cannot take it.

    Runs after the caller's commit: a broker outage must not turn a cancelled order into
    an error page. The sweeper (refunds_requeue) queues it once the broker is back."""
    from payments.tasks import refund_execute_task

    return enqueue(refund_execute_task, refund_id=refund_pk)


def refunds_requeue(*, older_than_seconds: int = 60, limit: int = 500) -> int:
    """Queue again pending refunds whose provider call never happened (a broker outage,
    a lost task). Refunds the provider answered (they have its reference) are settled by
    its callback instead."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    pks = list(
        Refund.objects.filter(
            status=Refund.Status.PENDING, provider_reference="", created_at__lt=cutoff
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(refund_enqueue(refund_pk=pk) for pk in pks)


def refund_execute(*, refund_id: int) -> Refund:
    """Call the provider for a pending refund and book the result (idempotent)."""
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.status != Refund.Status.PENDING:
        return refund
    provider = provider_get(refund.payment.provider)
    created = provider.refund(payment=refund.payment, refund=refund)  # ProviderError: retried
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=refund.payment.order_id)
        payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if refund.status != Refund.Status.PENDING:
            return refund
        refund.provider_reference = created.reference
        if created.succeeded:
            refund.status = Refund.Status.SUCCEEDED
            refund_book(
                payment=payment,
                order=order,
                amount=refund.amount,
                source=f"refund:{refund.idempotency_key}",
            )
        refund.save()
    return refund


def refund_book(*, payment: Payment, order: Order, amount: Decimal, source: str) -> None:
    """Book money given back on locked payment and order rows and move both accordingly."""
    MoneyEvent.objects.create(
        payment=payment,
        kind=MoneyEvent.Kind.REFUND,
        amount=amount,
        currency=payment.currency,
        source=source,
    )
    totals = payment_totals(payment=payment)
    fully = totals.refunded >= totals.captured
    transitions.transition(
        payment, to=PaymentStatus.REFUNDED if fully else PaymentStatus.PARTIALLY_REFUNDED
    )
    payment.save()
    # The order's state follows the money it still holds over all its payments: refunding
    # a surplus payment (a second one, or one that came late) leaves a paid order paid.
    held = order_net_captured(order=order)
    if held >= order.total_amount:
        return
    order_payment_refunded(order=order, fully=held <= 0)
