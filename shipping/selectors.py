"""Reads of shipping methods for checkout (pages and API)."""

from __future__ import annotations

from django.db.models import QuerySet

from shipping.models import ShippingMethod


def shipping_method_list(*, country: str | None = None) -> QuerySet[ShippingMethod]:
    """Active methods, cheapest first within their position; only those shipping to
    `country` (ISO alpha-2) when it is given."""
    methods = ShippingMethod.objects.active()
    if country:
        methods = methods.for_country(country)
    return methods.order_by("position", "price_amount", "id")


def shipping_method_get_for_country(*, method_id: int, country: str) -> ShippingMethod:
    """An active method that ships to `country`; else `ShippingMethod.DoesNotExist`.

    Order placement calls this on its hot path: the row by primary key and the model's own
    `ships_to`, which says what `for_country` says in SQL, cost half the query compilation."""
    method = ShippingMethod.objects.active().filter(pk=method_id).first()
    if method is None or not method.ships_to(country):
        raise ShippingMethod.DoesNotExist(f"No active shipping method {method_id} to {country}.")
    return method
