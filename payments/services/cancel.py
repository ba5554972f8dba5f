"""Cancelling an order from payments' floor: the order's state is the orders service's
call, and the money it holds is given back here, in the same transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from orders.models import Order
from orders.services import order_mark_cancelled
from payments.models import Payment
from payments.services.refunds import payments_refund_in_full

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
