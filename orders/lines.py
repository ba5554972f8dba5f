"""What happens to an order's lines after payment: units shipped, units the merchant
cannot send, delivery. The order's status follows its lines here, with an event per move.

Fulfilment (shipments, carriers, returns) calls these with the order locked; the money side
of a cancelled line is payments' (payments.services.cancel.order_lines_cancel)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.stock import stock_restock
from orders import transitions
from orders.models import Order, OrderEvent, OrderLine
from orders.services import order_transition

if TYPE_CHECKING:
    from accounts.models import User

# Statuses in which lines can still ship (or be cancelled by the merchant).
SHIPPABLE_STATUSES = (Order.Status.PAID, Order.Status.PARTIALLY_SHIPPED)


def _lines_for(order: Order, quantities: Mapping[int, int]) -> dict[int, OrderLine]:
    """The order's lines named in `quantities`, locked (after the order, as everyone does);
    a line of another order, or a quantity that is not a whole number above 0, is a
    ValidationError naming it."""
    lines = {
        line.pk: line
        for line in OrderLine.objects.select_for_update()
        .filter(order=order, pk__in=list(quantities))
        .order_by("pk")
    }
    errors = {}
    for line_id, quantity in quantities.items():
        if line_id not in lines:
            errors[str(line_id)] = [_("This is not a line of order %(n)s.") % {"n": order.number}]
        elif isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            errors[str(line_id)] = [_("Enter a whole number of at least 1.")]
        elif quantity > lines[line_id].unshipped_quantity:
            errors[str(line_id)] = [
                _("Only %(n)d of this line are still to ship.")
                % {"n": lines[line_id].unshipped_quantity}
            ]
    if errors:
        raise ValidationError({"lines": [f"{k}: {m}" for k, ms in errors.items() for m in ms]})
    return lines


def _guard_shippable(order: Order, doing: str) -> None:
    if order.status not in SHIPPABLE_STATUSES:
        raise transitions.InvalidTransition(
            _("An order that is %(status)s cannot be %(doing)s.")
            % {"status": order.get_status_display(), "doing": doing}
        )


def _follow_lines(order: Order, *, by: User | None, note: str) -> Order:
    """Move the order's status to what its lines now say: everything sent or cancelled is
    shipped (or cancelled, when nothing was sent), something sent is partially shipped."""
    quantities = list(order.lines.values_list("quantity", "shipped_quantity", "cancelled_quantity"))
    shipped = sum(row[1] for row in quantities)
    open_units = sum(q - s - c for q, s, c in quantities)
    target: str
    if open_units == 0 and shipped == 0:
        # Nothing was or will be sent: the merchants cancelled it all (a deliberate cancel,
        # so money arriving later is refunded, never used to revive it).
        order.cancelled_at = timezone.now()
        order.cancelled_by_kind = Order.CancelledBy.MERCHANT
        order.cancel_reason = note[: Order._meta.get_field("cancel_reason").max_length or None]
        target = Order.Status.CANCELLED
        order.fulfilment_status = Order.FulfilmentStatus.UNFULFILLED
    elif open_units == 0:
        target = Order.Status.SHIPPED
        order.fulfilment_status = Order.FulfilmentStatus.SHIPPED
    elif shipped:
        target = Order.Status.PARTIALLY_SHIPPED
        order.fulfilment_status = Order.FulfilmentStatus.PARTIALLY_SHIPPED
    else:
        target = order.status
    if target != order.status:
        return order_transition(order=order, to=target, by=by, note=note)
    order.save(update_fields=["fulfilment_status", "updated_at"])
    return order


def order_lines_ship(
    *, order: Order, quantities: Mapping[int, int], by: User | None, note: str = ""
) -> Order:
    """Count units of a locked order's lines as shipped; the order becomes partially
    shipped or shipped. More than is still to ship is a ValidationError (and the database
    constraint would refuse it too)."""
    _guard_shippable(order, _("shipped"))
    lines = _lines_for(order, quantities)
    for line_id, quantity in quantities.items():
        line = lines[line_id]
        line.shipped_quantity += quantity
        line.save(update_fields=["shipped_quantity"])
    OrderEvent.objects.create(
        order=order,
        kind=OrderEvent.Kind.SHIPMENT,
        from_status=order.status,
        to_status=order.status,
        actor=by,
        note=note,
    )
    return _follow_lines(order, by=by, note=note)


@dataclass(frozen=True)
class LinesCancelled:
    """What cancelling lines gave back: the money to refund, and the event that says so
    (its id names the refund, so each cancellation refunds once)."""

    amount: Decimal
    event_id: int


def order_lines_cancel(
    *, order: Order, quantities: Mapping[int, int], by: User | None, reason: str = ""
) -> LinesCancelled:
    """A merchant cannot send these units of a locked, paid order: they are cancelled and
    go back on the shelf. Returns the money the shopper paid for them (with the shipping,
    when nothing of the order is left to send and nothing was sent): the caller refunds it."""
    _guard_shippable(order, _("changed"))
    lines = _lines_for(order, quantities)
    restock: dict[int, int] = {}
    amount = Decimal("0.00")
    for line_id, quantity in quantities.items():
        line = lines[line_id]
        line.cancelled_quantity += quantity
        line.save(update_fields=["cancelled_quantity"])
        restock[line.variant_id] = restock.get(line.variant_id, 0) + quantity
        amount += line.unit_price_amount * quantity
    stock_restock(quantities=restock)
    event = OrderEvent.objects.create(
        order=order,
        kind=OrderEvent.Kind.LINES_CANCELLED,
        from_status=order.status,
        to_status=order.status,
        actor=by,
        note=reason,
    )
    order = _follow_lines(order, by=by, note=reason)
    if order.status == Order.Status.CANCELLED:
        amount += order.shipping_amount  # the whole order is off: its shipping too
    return LinesCancelled(amount=amount, event_id=event.pk)


def order_mark_delivered(*, order: Order, note: str = "") -> Order:
    """Everything of a locked, shipped order has been delivered."""
    if order.status == Order.Status.DELIVERED:
        return order
    order.fulfilment_status = Order.FulfilmentStatus.DELIVERED
    return order_transition(order=order, to=Order.Status.DELIVERED, note=note)


def order_unsent_quantities(*, order: Order) -> dict[int, int]:
    """{variant id: units} of a locked order's lines that never left: bought, less shipped,
    less cancelled (what goes back on the shelf when the order ends unsent)."""
    unsent: dict[int, int] = {}
    for line in order.lines.all():
        if line.unshipped_quantity:
            unsent[line.variant_id] = unsent.get(line.variant_id, 0) + line.unshipped_quantity
    return unsent


def order_event_note(
    *, order: Order, kind: str = OrderEvent.Kind.NOTE, note: str, by: User | None = None
) -> OrderEvent:
    """Write a note in an order's trail (a return requested, a delivery problem)."""
    return OrderEvent.objects.create(
        order=order,
        kind=kind,
        from_status=order.status,
        to_status=order.status,
        actor=by,
        note=note,
    )
