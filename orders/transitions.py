"""The order state machine: one table, one guard. Only services call `transition`."""

from django.utils.translation import gettext_lazy as _

from orders.errors import InvalidTransition

PENDING_PAYMENT = "pending_payment"
PAID = "paid"
PARTIALLY_SHIPPED = "partially_shipped"
SHIPPED = "shipped"
DELIVERED = "delivered"
CANCELLED = "cancelled"
REFUNDED = "refunded"

ALLOWED: dict[str, frozenset[str]] = {
    PENDING_PAYMENT: frozenset({PAID, CANCELLED}),
    PAID: frozenset({PARTIALLY_SHIPPED, SHIPPED, CANCELLED, REFUNDED}),
    PARTIALLY_SHIPPED: frozenset({SHIPPED, REFUNDED}),
    SHIPPED: frozenset({DELIVERED, REFUNDED}),
    DELIVERED: frozenset({REFUNDED}),
    # Only a late payment moves a cancelled order: the money arrived after the reservation
    # expired and the stock could still be taken (orders.services.order_payment_captured).
    CANCELLED: frozenset({PAID}),
    REFUNDED: frozenset(),
}


def can_transition(current: str, to: str) -> bool:
    return to in ALLOWED.get(current, frozenset())


def transition(order, *, to: str) -> str:
    """Move `order.status` to `to` or raise InvalidTransition; returns the previous status."""
    current = order.status
    if not can_transition(current, to):
        raise InvalidTransition(
            _("An order that is %(current)s cannot become %(to)s.") % {"current": current, "to": to}
        )
    order.status = to
    return current
