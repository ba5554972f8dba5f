"""The order page's parcels and returns, as a shopper's browser sees them."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import UserFactory
from fulfilment.models import Return
from fulfilment.services.shipments import carrier_event_apply, shipment_create
from fulfilment.tests.factories import (
    deliver_carrier_event,
    merchant_with_staff,
    paid_order,
    product_of,
)

pytestmark = pytest.mark.django_db

# The order page of a delivered order, whatever its number of parcels, timeline steps and
# returns: the user (its session is cached), the order and its lines, payments, its
# history, shipments (carrier joined, events and lines folded in), returns (their lines
# folded in) and the header's cart count. The return form is worked out from those, with
# no query of its own. No page runs more than 8.
ORDER_PAGE_QUERIES = 8


@pytest.fixture
def shopper():
    return UserFactory()


def _shipped_order(shopper, *, parcels: int, steps: int):
    staff = UserFactory()
    merchant = merchant_with_staff(staff)
    variants = [product_of(merchant) for _ in range(parcels)]
    order = paid_order(user=shopper, items=[(variant, 1) for variant in variants])
    # After the "shipped" step the shipping writes: up to 4 more.
    statuses = ["in_transit", "out_for_delivery", "exception", "delivered"]
    for index, line in enumerate(order.lines.order_by("id")):
        shipment = shipment_create(
            order_id=order.pk,
            carrier="dhl",
            tracking_number=f"P{order.pk}-{index}",
            lines={line.pk: 1},
            by=staff,
        )
        for status in statuses[: steps - 1]:
            carrier_event_apply(event_pk=deliver_carrier_event(shipment, status=status).pk)
    return order


def test_the_order_page_shows_each_parcel_with_its_link_and_timeline(client, shopper):
    order = _shipped_order(shopper, parcels=2, steps=3)
    client.force_login(shopper)
    page = client.get(order.get_absolute_url()).content.decode()
    assert "Parcels" in page
    assert f'tracking.html?tracking-id=P{order.pk}-0"' in page
    assert page.count("shipment__timeline") == 2
    assert "Out for delivery" in page


def test_a_delivery_problem_is_shown(client, shopper):
    client.force_login(shopper)
    order = _shipped_order(shopper, parcels=1, steps=4)  # ends with the exception
    page = client.get(order.get_absolute_url()).content.decode()
    assert "reports a problem with this parcel" in page


def test_order_page_queries_do_not_grow_with_parcels_and_steps(
    client, shopper, django_assert_num_queries
):
    small = _shipped_order(shopper, parcels=1, steps=5)  # delivered: 1 shipment, 5 events
    big = _shipped_order(shopper, parcels=3, steps=5)  # 3 shipments x 5 events
    client.force_login(shopper)
    client.get("/")  # the session is read once and cached from here on
    for order in (small, big):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(order.get_absolute_url()).status_code == 200
        assert len(queries) == ORDER_PAGE_QUERIES, "\n".join(q["sql"][:150] for q in queries)


def test_order_page_queries_do_not_grow_with_returns(client, shopper):
    small = _shipped_order(shopper, parcels=1, steps=5)
    big = _shipped_order(shopper, parcels=3, steps=5)
    client.force_login(shopper)
    for order in (small, big):
        for line in order.lines.order_by("id"):  # one return per line, one line each
            response = client.post(
                reverse("orders:return_request", args=[order.number]),
                {f"return-line_{line.pk}": "1", "return-reason": "damaged"},
            )
            assert response.status_code == 302
    client.get("/")
    for order, returns in ((small, 1), (big, 3)):
        with CaptureQueriesContext(connection) as queries:
            page = client.get(order.get_absolute_url()).content.decode()
        assert len(queries) == ORDER_PAGE_QUERIES, "\n".join(q["sql"][:150] for q in queries)
        assert Return.objects.filter(order=order).count() == returns
        for found in Return.objects.filter(order=order):
            assert f"Return {found.pk}" in page


def test_delivered_lines_can_be_returned_from_the_order_page(client, shopper):
    order = _shipped_order(shopper, parcels=1, steps=5)  # delivered
    client.force_login(shopper)
    page = client.get(order.get_absolute_url()).content.decode()
    assert "Return items" in page
    line = order.lines.get()
    response = client.post(
        reverse("orders:return_request", args=[order.number]),
        {f"return-line_{line.pk}": "1", "return-reason": "damaged", "return-comment": "Dented"},
    )
    assert response.status_code == 302
    found = Return.objects.get()
    assert (found.status, found.comment) == (Return.Status.REQUESTED, "Dented")
    page = client.get(order.get_absolute_url()).content.decode()
    assert f"Return {found.pk}" in page
    assert "Return items" not in page.split("</article>")[-1]  # nothing left to return


def test_a_bad_return_is_a_message_and_others_get_404(client, shopper):
    order = _shipped_order(shopper, parcels=1, steps=5)
    client.force_login(shopper)
    line = order.lines.get()
    response = client.post(
        reverse("orders:return_request", args=[order.number]),
        {f"return-line_{line.pk}": "0", "return-reason": "damaged"},
    )
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)]
    assert not Return.objects.exists()
    client.force_login(UserFactory())
    assert client.post(reverse("orders:return_request", args=[order.number])).status_code == 404
