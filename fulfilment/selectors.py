"""Reads of shipments and returns, for the order page, the API and the admin: shaped so a
page of them costs a fixed number of queries whatever it holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Exists, F, Max, OuterRef, Prefetch, QuerySet, Sum

from fulfilment.models import Return, ReturnLine, Shipment, ShipmentEvent, ShipmentLine
from orders.models import Order, OrderLine
from shop.core.folded import children_json, children_set

if TYPE_CHECKING:
    from accounts.models import User

# Returns that hold their items: a rejected or cancelled one gives them back.
ACTIVE_RETURN_STATUSES = (
    Return.Status.REQUESTED,
    Return.Status.APPROVED,
    Return.Status.RECEIVED,
    Return.Status.REFUNDED,
)


def shipment_list_for_order(*, order: Order) -> QuerySet[Shipment]:
    """An order's shipments, oldest first, with carrier, lines and timeline (3 queries)."""
    return (
        Shipment.objects.filter(order=order)
        .select_related("carrier")
        .prefetch_related(
            Prefetch("events", queryset=ShipmentEvent.objects.order_by("occurred_at", "id")),
            Prefetch("lines", queryset=ShipmentLine.objects.order_by("id")),
        )
        .order_by("created_at", "id")
    )


def return_list_for_order(*, order: Order) -> QuerySet[Return]:
    """An order's returns, newest first, with their lines (2 queries)."""
    return (
        Return.objects.filter(order=order)
        .prefetch_related(Prefetch("lines", queryset=ReturnLine.objects.order_by("id")))
        .order_by("-created_at", "-id")
    )


@dataclass(frozen=True)
class Returnable:
    """What of an order line can still be sent back, and until when."""

    quantity: int
    until: datetime


def order_returnable(*, order: Order) -> dict[int, Returnable]:
    """{order line id: Returnable} for the order's delivered lines: delivered, less what is
    in an active return, within RETURN_WINDOW_DAYS of the line's (latest) delivery. A line
    that is not delivered is absent; one whose window has passed has its deadline in the
    past (callers tell the two apart). Two queries."""
    delivered = (
        ShipmentLine.objects.filter(
            shipment__order=order, shipment__status=Shipment.Status.DELIVERED
        )
        .order_by()
        .values("order_line_id")
        .annotate(quantity=Sum("quantity"), last=Max("shipment__delivered_at"))
    )
    held = dict(
        ReturnLine.objects.filter(
            return_request__order=order, return_request__status__in=ACTIVE_RETURN_STATUSES
        )
        .order_by()
        .values("order_line_id")
        .annotate(quantity=Sum("quantity"))
        .values_list("order_line_id", "quantity")
    )
    window = timedelta(days=settings.RETURN_WINDOW_DAYS)
    return {
        row["order_line_id"]: Returnable(
            quantity=max(row["quantity"] - held.get(row["order_line_id"], 0), 0),
            until=row["last"] + window,
        )
        for row in delivered
    }


def order_returnable_from(
    *, shipments: list[Shipment], returns: list[Return]
) -> dict[int, Returnable]:
    """What order_returnable says, from an order's shipments and returns already loaded
    with their lines (shipment_list_for_order, return_list_for_order): no query, for the
    order page. The service (return_request) still decides on order_returnable, locked."""
    delivered: dict[int, int] = {}
    last: dict[int, datetime] = {}
    for shipment in shipments:
        if shipment.status != Shipment.Status.DELIVERED or shipment.delivered_at is None:
            continue
        for line in shipment.lines.all():
            delivered[line.order_line_id] = delivered.get(line.order_line_id, 0) + line.quantity
            if line.order_line_id not in last or last[line.order_line_id] < shipment.delivered_at:
                last[line.order_line_id] = shipment.delivered_at
    held: dict[int, int] = {}
    for found in returns:
        if found.status in ACTIVE_RETURN_STATUSES:
            for row in found.lines.all():
                held[row.order_line_id] = held.get(row.order_line_id, 0) + row.quantity
    window = timedelta(days=settings.RETURN_WINDOW_DAYS)
    return {
        pk: Returnable(quantity=max(quantity - held.get(pk, 0), 0), until=last[pk] + window)
        for pk, quantity in delivered.items()
    }


def staff_order_list(*, user: User, status: str | None = None) -> QuerySet[Order]:
    """Orders holding lines of merchants the staff user works for (superusers: all), newest
    first, with only those lines prefetched (2 queries a page)."""
    orders = Order.objects.all()
    lines = OrderLine.objects.order_by("id")
    if not user.is_superuser:
        orders = orders.for_merchant_staff(user)
        lines = lines.for_merchant_staff(user)
    if status:
        orders = orders.filter(status=status)
    return orders.prefetch_related(Prefetch("lines", queryset=lines)).order_by("-created_at", "-id")


def staff_orders_to_ship(*, user: User) -> QuerySet[Order]:
    """Paid orders with lines of the user's merchants still to ship, oldest first."""
    open_lines = OrderLine.objects.filter(
        order=OuterRef("pk"), quantity__gt=F("shipped_quantity") + F("cancelled_quantity")
    )
    if not user.is_superuser:
        open_lines = open_lines.for_merchant_staff(user)
    return (
        staff_order_list(user=user)
        .filter(status__in=[Order.Status.PAID, Order.Status.PARTIALLY_SHIPPED])
        .filter(Exists(open_lines))
        .order_by("created_at", "id")
    )


def staff_return_list(*, user: User, status: str | None = None) -> QuerySet[Return]:
    """Returns of the user's merchants (superusers: all), newest first, with lines."""
    returns = Return.objects.select_related("order").prefetch_related(
        Prefetch("lines", queryset=ReturnLine.objects.order_by("id"))
    )
    if not user.is_superuser:
        returns = returns.filter(merchant__staff=user)
    if status:
        returns = returns.filter(status=status)
    return returns.order_by("-created_at", "-id")


def shipment_list_for_order_page(*, order: Order) -> list[Shipment]:
    """shipment_list_for_order in one query (its timeline and lines folded in as JSON): the
    order page stays within its query budget whatever the order holds."""
    events = ShipmentEvent.objects.filter(shipment=OuterRef("pk")).order_by("occurred_at", "id")
    lines = ShipmentLine.objects.filter(shipment=OuterRef("pk")).order_by("id")
    shipments: list[Shipment] = list(
        Shipment.objects.filter(order=order)
        .select_related("carrier")
        .annotate(events_json=children_json(events), lines_json=children_json(lines))
        .order_by("created_at", "id")
    )
    for shipment in shipments:
        children_set(shipment, "events", ShipmentEvent, getattr(shipment, "events_json", None))
        children_set(shipment, "lines", ShipmentLine, getattr(shipment, "lines_json", None))
    return shipments


def return_list_for_order_page(*, order: Order) -> list[Return]:
    """return_list_for_order in one query (its lines folded in as JSON)."""
    lines = ReturnLine.objects.filter(return_request=OuterRef("pk")).order_by("id")
    returns: list[Return] = list(
        Return.objects.filter(order=order)
        .annotate(lines_json=children_json(lines))
        .order_by("-created_at", "-id")
    )
    for found in returns:
        children_set(found, "lines", ReturnLine, getattr(found, "lines_json", None))
    return returns
