"""Reads of orders for the customer's pages and API: lines always prefetched, so a page
of orders costs the same number of queries whatever it holds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import QuerySet, Sum
from django.utils.translation import gettext as _

from catalog.models import Merchant
from catalog.stock import variant_reserved_drift
from orders.models import PAID_STATUSES, Order, OrderEvent, OrderLine
from shop.core.errors import PermissionDeniedError

if TYPE_CHECKING:
    from accounts.models import User


def order_list_for_customer(*, user: User) -> QuerySet[Order]:
    """The user's own orders, newest first, with their lines."""
    return Order.objects.for_customer(user).recent_first().with_lines()


def order_get_for_customer(*, user: User, number: str) -> Order:
    """One of the user's orders by number; another user's raises `Order.DoesNotExist`."""
    return order_list_for_customer(user=user).get(number=number)


def order_get_for_merchant_staff(*, user: User, number: str) -> Order:
    """An order holding lines of a merchant `user` works for (a superuser: any order).

    PermissionDeniedError when `user` works for no merchant; `Order.DoesNotExist` for an
    order of other merchants only (404, as one that does not exist)."""
    if user.is_superuser:
        return Order.objects.get(number=number)
    if not Merchant.objects.filter(staff=user).exists():
        raise PermissionDeniedError(_("Only a merchant's staff can do this."))
    return Order.objects.for_merchant_staff(user).get(number=number)


def order_lines_for_merchant_staff(*, user: User, order: Order) -> QuerySet[OrderLine]:
    """The order's lines `user` may act on: their merchants' (a superuser: all)."""
    lines = order.lines.all() if user.is_superuser else order.lines.for_merchant_staff(user)
    return lines.order_by("id")


def order_history_for_customer(*, order: Order) -> QuerySet[OrderEvent]:
    """What happened to an order the customer may read (their own, fetched through a
    scoped selector): every event, oldest first, without who did it (staff names stay
    private); the order page says from it why an order was cancelled or refunded."""
    return order.events.order_by("created_at", "id").only(
        "kind", "from_status", "to_status", "note", "created_at", "order_id"
    )


# Every pair of different products in one paid order counts that order once; the top
# `keep` partners of each product are kept. Raw SQL: a self-join with a window ranking that
# the ORM cannot express; it reads only orders' own tables.
_CO_PURCHASES_SQL = """
SELECT product_id, other_id, orders
FROM (
    SELECT a.product_id, b.product_id AS other_id, COUNT(DISTINCT a.order_id) AS orders,
           ROW_NUMBER() OVER (
               PARTITION BY a.product_id
               ORDER BY COUNT(DISTINCT a.order_id) DESC, b.product_id
           ) AS rank
    FROM orders_orderline a
    JOIN orders_order o ON o.id = a.order_id
    JOIN orders_orderline b ON b.order_id = a.order_id AND b.product_id <> a.product_id
    WHERE o.status = ANY(%s)
    GROUP BY a.product_id, b.product_id
) ranked
WHERE rank <= %s
ORDER BY product_id, rank
"""


def order_line_co_purchases(*, keep: int) -> Iterator[tuple[int, int, int]]:
    """(product, other product, number of paid orders holding both), the `keep` most
    frequent partners of each product; streamed, for the recommendations table."""
    with connection.cursor() as cursor:
        cursor.execute(_CO_PURCHASES_SQL, [list(PAID_STATUSES), keep])
        while rows := cursor.fetchmany(5000):
            yield from rows


def order_reserved_quantities() -> dict[int, int]:
    """{variant id: quantity} held by orders awaiting payment: what `Variant.reserved`
    must say."""
    rows = (
        OrderLine.objects.filter(order__status=Order.Status.PENDING_PAYMENT)
        .order_by()
        .values("variant_id")
        .annotate(held=Sum("quantity"))
    )
    return {row["variant_id"]: row["held"] for row in rows}


def stock_drift() -> list[dict[str, Any]]:
    """Variants whose reservations disagree with the orders awaiting payment (empty when
    the books are right)."""
    return variant_reserved_drift(held=order_reserved_quantities())
