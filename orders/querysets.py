"""Reusable filters of orders and their lines."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from django.db import models
from django.db.models import Exists, OuterRef, Prefetch

if TYPE_CHECKING:
    from accounts.models import User
    from orders.models import (
        Order,  # noqa: F401 (named as a string in a base class below)
        OrderLine,
    )


class OrderQuerySet(models.QuerySet["Order"]):
    def for_customer(self, user: User) -> Self:
        return self.filter(user=user)

    def pending_payment(self) -> Self:
        from orders.models import OrderStatus

        return self.filter(status=OrderStatus.PENDING_PAYMENT)

    def recent_first(self) -> Self:
        return self.order_by("-created_at", "-id")

    def with_lines(self, lines: models.QuerySet[OrderLine] | None = None) -> Self:
        """Lines prefetched in id order (one query for any number of orders)."""
        from orders.models import OrderLine

        queryset = lines if lines is not None else OrderLine.objects.all()
        return self.prefetch_related(Prefetch("lines", queryset=queryset.order_by("id")))

    def for_merchant_staff(self, user: User) -> Self:
        """Orders holding at least one line of a merchant `user` works for.

        An EXISTS subquery rather than a join: no DISTINCT, and one row per order."""
        from orders.models import OrderLine

        own_lines = OrderLine.objects.filter(order=OuterRef("pk"), merchant__staff=user)
        return self.filter(Exists(own_lines))


class OrderLineQuerySet(models.QuerySet["OrderLine"]):
    def for_merchant_staff(self, user: User) -> Self:
        return self.filter(merchant__staff=user)

    def bought_by(self, user: User) -> Self:
        """Lines of the user's orders whose money was taken and not all given back: what
        the user has bought (the one definition reviews and recommendations use)."""
        from orders.models import PAID_STATUSES

        return self.filter(order__user=user, order__status__in=PAID_STATUSES)

    def paid(self) -> Self:
        """Lines of orders in a paid status."""
        from orders.models import PAID_STATUSES

        return self.filter(order__status__in=PAID_STATUSES)
