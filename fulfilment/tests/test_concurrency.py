"""Two staff shipping the same line at once ship it once; two returns at once never send
a unit back twice. Real threads, each on its own database connection."""

from __future__ import annotations

from collections import Counter

import pytest
from django.core.exceptions import ValidationError

from accounts.tests.factories import UserFactory
from catalog.services import merchant_staff_set
from fulfilment.models import Return, Shipment
from fulfilment.services.returns import return_request
from fulfilment.services.shipments import carrier_event_apply, shipment_create
from fulfilment.tests.factories import (
    deliver_carrier_event,
    merchant_with_staff,
    paid_order,
    product_of,
)
from shop.core.testing import run_together

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_staff_shipping_the_same_line_at_once_ship_it_once():
    first, second = UserFactory(), UserFactory()
    merchant = merchant_with_staff(first)
    merchant_staff_set(merchant=merchant, users=[first, second])  # both ship for it
    variant = product_of(merchant)
    order = paid_order(user=UserFactory(), items=[(variant, 3)])

    def ship(by, number):
        return lambda: shipment_create(
            order_id=order.pk, carrier="dhl", tracking_number=number, by=by
        )

    results = run_together([ship(first, "RACE-1"), ship(second, "RACE-2")])
    outcomes = Counter(type(result).__name__ for result in results)
    assert outcomes == {"Shipment": 1, "ValidationError": 1}, results
    line = order.lines.get()
    assert line.shipped_quantity == 3
    assert Shipment.objects.count() == 1
    assert sum(s.lines.get().quantity for s in Shipment.objects.all()) == 3


def test_two_returns_at_once_never_return_a_unit_twice():
    staff = UserFactory()
    merchant = merchant_with_staff(staff)
    variant = product_of(merchant)
    shopper = UserFactory()
    order = paid_order(user=shopper, items=[(variant, 2)])
    shipment = shipment_create(order_id=order.pk, carrier="dhl", tracking_number="RR1", by=staff)
    carrier_event_apply(event_pk=deliver_carrier_event(shipment, status="delivered").pk)
    line = order.lines.get()

    def ask():
        return return_request(order_id=order.pk, user=shopper, lines={line.pk: 2}, reason="other")

    results = run_together([ask, ask, ask])
    outcomes = Counter(type(result).__name__ for result in results)
    assert outcomes == {"Return": 1, "ValidationError": 2}, results
    assert all(isinstance(r, Return | ValidationError) for r in results)
    assert sum(row.quantity for r in Return.objects.all() for row in r.lines.all()) == 2
