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
    """An active method that ships to `country`; else `ShippingMethod.DoesNotExist`."""
    return shipping_method_list(country=country).get(pk=method_id)
