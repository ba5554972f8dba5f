"""Reusable filters of orders and their lines."""

from __future__ import annotations

from django.db import models
from django.db.models import Exists, OuterRef, Prefetch


class OrderQuerySet(models.QuerySet):
    def for_customer(self, user):
        return self.filter(user=user)

    def pending_payment(self):
        from orders.models import OrderStatus

        return self.filter(status=OrderStatus.PENDING_PAYMENT)

    def recent_first(self):
        return self.order_by("-created_at", "-id")

    def with_lines(self, lines: models.QuerySet | None = None):
        """Lines prefetched in id order (one query for any number of orders)."""
        from orders.models import OrderLine

        queryset = lines if lines is not None else OrderLine.objects.all()
        return self.prefetch_related(Prefetch("lines", queryset=queryset.order_by("id")))

    def for_merchant_staff(self, user):
        """Orders holding at least one line of a merchant `user` works for.

        An EXISTS subquery rather than a join: no DISTINCT, and one row per order."""
        from orders.models import OrderLine

        own_lines = OrderLine.objects.filter(order=OuterRef("pk"), merchant__staff=user)
        return self.filter(Exists(own_lines))


class OrderLineQuerySet(models.QuerySet):
    def for_merchant_staff(self, user):
        return self.filter(merchant__staff=user)

    def bought_by(self, user):
        """Lines of the user's orders whose money was taken and not all given back: what
        the user has bought (the one definition reviews and recommendations use)."""
        from orders.models import PAID_STATUSES

        return self.filter(order__user=user, order__status__in=PAID_STATUSES)

    def paid(self):
        """Lines of orders in a paid status."""
        from orders.models import PAID_STATUSES

        return self.filter(order__status__in=PAID_STATUSES)
