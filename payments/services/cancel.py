"""Cancelling an order from payments' floor: the order's state is the orders service's
call, and the money it holds is given back here, in the same transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from django.db import transaction

from orders.lines import order_lines_cancel as order_lines_mark_cancelled
from orders.models import Order
from orders.services import order_mark_cancelled
from payments.models import Payment
from payments.services.refunds import payments_refund_amount, payments_refund_in_full

if TYPE_CHECKING:
    from accounts.models import User


@transaction.atomic
def order_cancel(*, order_id: int, by: User | None = None, reason: str = "") -> Order:
    """Cancel an order awaiting payment (its reservation is released) or a paid order with
    nothing shipped (its stock returns to the shelf and its payments are refunded in full).

    The one cancel every entry point calls: the order page, the API, the admin.
    Lock order: the order, then its payments, then variants."""
    order = Order.objects.select_for_update().get(pk=order_id)
    list(Payment.objects.select_for_update().filter(order=order).order_by("pk"))
    money_taken = order_mark_cancelled(order=order, by=by, reason=reason)
    if money_taken:
        payments_refund_in_full(order=order, key=f"order-cancel-{order.pk}", by=by, reason=reason)
    return order


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
