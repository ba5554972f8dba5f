"""Reusable filters of orders and their lines."""

from __future__ import annotations

from django.db import models
from django.db.models import Exists, OuterRef, Prefetch


class OrderQuerySet(models.QuerySet):
    def for_customer(self, user):
        return self.filter(user=user)

    def pending_payment(self):
        return self.filter(status="pending_payment")

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
