"""The order state machine: one table, one guard. Only services call `transition`."""

from django.utils.translation import gettext_lazy as _

from orders.errors import InvalidTransition
from orders.models import OrderStatus as S

ALLOWED: dict[str, frozenset[str]] = {
    S.PENDING_PAYMENT: frozenset({S.PAID, S.CANCELLED}),
    S.PAID: frozenset({S.PARTIALLY_SHIPPED, S.SHIPPED, S.CANCELLED, S.REFUNDED}),
    S.PARTIALLY_SHIPPED: frozenset({S.SHIPPED, S.REFUNDED}),
    S.SHIPPED: frozenset({S.DELIVERED, S.REFUNDED}),
    S.DELIVERED: frozenset({S.REFUNDED}),
    # Only a late payment moves a cancelled order: the money arrived after the reservation
    # expired and the stock could still be taken (orders.services.order_payment_captured).
    S.CANCELLED: frozenset({S.PAID}),
    S.REFUNDED: frozenset(),
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
