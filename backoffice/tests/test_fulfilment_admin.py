"""Merchants ship, cancel lines and handle returns from the admin; each page calls the
service that owns the rule, and sees only the merchant's own rows."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from fulfilment.models import Return, Shipment
from fulfilment.services.returns import return_request
from fulfilment.services.shipments import carrier_event_apply, shipment_create
from fulfilment.tests.factories import (
    deliver_carrier_event,
    merchant_with_staff,
    paid_order,
    product_of,
)
from orders.models import Order
from payments.models import Refund

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(client):
    staff_a, staff_b = UserFactory(), UserFactory()
    merchant_a, merchant_b = merchant_with_staff(staff_a), merchant_with_staff(staff_b)
    a, b = product_of(merchant_a, price="10.00"), product_of(merchant_b, price="4.00")
    shopper = UserFactory()
    older = paid_order(user=shopper, items=[(a, 2), (b, 1)])
    newer = paid_order(user=shopper, items=[(a, 1)])
    only_b = paid_order(user=shopper, items=[(b, 1)])
    staff_a.refresh_from_db()  # merchant_staff_set made them staff
    client.force_login(staff_a)
    return {
        "client": client,
        "staff_a": staff_a,
        "staff_b": staff_b,
        "older": older,
        "newer": newer,
        "only_b": only_b,
        "shopper": shopper,
    }


def test_orders_to_ship_lists_the_merchants_orders_oldest_first(world):
    response = world["client"].get(reverse("admin:backoffice_ordertoship_changelist"))
    assert response.status_code == 200
    numbers = [order.number for order in response.context["cl"].result_list]
    assert numbers == [world["older"].number, world["newer"].number]  # not B's only order
    index = world["client"].get(reverse("admin:index"))
    assert b"Orders to ship" in index.content


def test_ship_form_ships_with_a_carrier_and_number(world):
    order = world["older"]
    url = reverse("admin:orders_order_ship", args=[order.pk])
    page = world["client"].get(url)
    assert page.status_code == 200
    line = order.lines.get(merchant__staff=world["staff_a"])
    assert f'name="line_{line.pk}"' in page.content.decode()
    response = world["client"].post(
        url, {"carrier": "dhl", "tracking_number": "ADM-1", f"line_{line.pk}": "2"}
    )
    assert response.status_code == 302, response.content
    shipment = Shipment.objects.get()
    assert (shipment.tracking_number, shipment.created_by) == ("ADM-1", world["staff_a"])
    assert Order.objects.get(pk=order.pk).status == Order.Status.PARTIALLY_SHIPPED
    # The order page shows the shipment; B's order is not A's to open or ship.
    change = world["client"].get(reverse("admin:orders_order_change", args=[order.pk]))
    assert b"ADM-1" in change.content
    other = reverse("admin:orders_order_ship", args=[world["only_b"].pk])
    assert world["client"].get(other).status_code == 404


def test_ship_form_errors_are_form_errors(world):
    order = world["older"]
    line = order.lines.get(merchant__staff=world["staff_a"])
    url = reverse("admin:orders_order_ship", args=[order.pk])
    response = world["client"].post(
        url, {"carrier": "dhl", "tracking_number": "ADM-2", f"line_{line.pk}": "5"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not Shipment.objects.exists()


def test_cancel_lines_page_refunds_exactly_them(world):
    order = world["newer"]
    line = order.lines.get()
    response = world["client"].post(
        reverse("admin:orders_order_cancel_lines", args=[order.pk]),
        {f"line_{line.pk}": "1", "reason": "Out of stock at the warehouse"},
    )
    assert response.status_code == 302
    assert Order.objects.get(pk=order.pk).status == Order.Status.CANCELLED
    assert Refund.objects.get().amount == order.total_amount  # the line and the shipping


def test_a_shopper_cannot_reach_the_pages(client, world):
    client.force_login(world["shopper"])
    url = reverse("admin:orders_order_ship", args=[world["older"].pk])
    assert client.get(url).status_code == 302  # to the admin login


def test_sandbox_action_sends_the_next_event(
    world, django_capture_on_commit_callbacks, monkeypatch
):
    from fulfilment import tasks

    sent = []
    monkeypatch.setattr(
        tasks.carrier_sandbox_send_task, "apply_async", lambda **kw: sent.append(kw)
    )
    shipment = shipment_create(
        order_id=world["older"].pk, carrier="sandbox", tracking_number="SBX-1", by=world["staff_a"]
    )
    response = world["client"].post(
        reverse("admin:fulfilment_shipment_changelist"),
        {"action": "sandbox_next_event", "_selected_action": [shipment.pk]},
    )
    assert response.status_code == 302
    (call,) = sent
    event = call["kwargs"]["event"]
    assert (event["tracking_number"], event["status"]) == ("SBX-1", "in_transit")
    assert call["kwargs"]["url"].endswith("/shipping/webhooks/sandbox/")


def test_returns_are_decided_and_received_from_the_admin(world):
    order = world["older"]
    staff = world["staff_a"]
    shipment = shipment_create(order_id=order.pk, carrier="dhl", tracking_number="R-1", by=staff)
    carrier_event_apply(event_pk=deliver_carrier_event(shipment, status="delivered").pk)
    line = order.lines.get(merchant__staff=staff)
    found = return_request(
        order_id=order.pk, user=world["shopper"], lines={line.pk: 1}, reason="other"
    )
    client = world["client"]
    assert client.get(reverse("admin:fulfilment_return_change", args=[found.pk])).status_code == 200
    reject_without_note = client.post(
        reverse("admin:fulfilment_return_decide", args=[found.pk]),
        {"decision": "reject", "note": ""},
    )
    assert reject_without_note.status_code == 200 and reject_without_note.context["form"].errors
    approve = client.post(
        reverse("admin:fulfilment_return_decide", args=[found.pk]),
        {"decision": "approve", "note": "Send to the depot"},
    )
    assert approve.status_code == 302
    receive = client.post(
        reverse("admin:fulfilment_return_receive", args=[found.pk]), {f"restock_{line.pk}": "on"}
    )
    assert receive.status_code == 302
    found.refresh_from_db()
    assert found.status == Return.Status.RECEIVED
    assert found.lines.get().restock is True
    # B's staff cannot open A's return.
    client.force_login(world["staff_b"])
    assert client.get(reverse("admin:fulfilment_return_change", args=[found.pk])).status_code == 404
    assert client.get(reverse("admin:fulfilment_return_decide", args=[found.pk])).status_code == 404
