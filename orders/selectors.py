"""Reads of orders for the customer's pages and API: lines always prefetched, so a page
of orders costs the same number of queries whatever it holds."""

from __future__ import annotations

from django.db.models import QuerySet

from orders.models import Order


def order_list_for_customer(*, user) -> QuerySet[Order]:
    """The user's own orders, newest first, with their lines."""
    return Order.objects.for_customer(user).recent_first().with_lines()


def order_get_for_customer(*, user, number: str) -> Order:
    """One of the user's orders by number; another user's raises `Order.DoesNotExist`."""
    return order_list_for_customer(user=user).get(number=number)
