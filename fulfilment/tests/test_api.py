"""The fulfilment API as apps and merchant tools use it (API.md "Shipping")."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.tests.factories import UserFactory
from fulfilment.models import Return, Shipment
from fulfilment.services.shipments import carrier_event_apply, shipment_create
from fulfilment.tests.factories import (
    deliver_carrier_event,
    merchant_with_staff,
    paid_order,
    product_of,
)
from orders.models import Order

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def world():
    staff_a, staff_b, shopper = UserFactory(), UserFactory(), UserFactory()
    merchant_a = merchant_with_staff(staff_a)
    merchant_b = merchant_with_staff(staff_b)
    a, b = product_of(merchant_a, price="10.00"), product_of(merchant_b, price="4.00")
    order = paid_order(user=shopper, items=[(a, 2), (b, 1)])
    lines = {line.variant_id: line for line in order.lines.all()}
    return {
        "order": order,
        "shopper": shopper,
        "staff_a": staff_a,
        "staff_b": staff_b,
        "line_a": lines[a.pk],
        "line_b": lines[b.pk],
    }


def url(path: str) -> str:
    return f"/api/v1/{path}"


def test_staff_ship_their_lines_and_the_shopper_follows_the_parcel(world):
    number = world["order"].number
    response = client_for(world["staff_a"]).post(
        url(f"staff/orders/{number}/shipments/"),
        {"carrier": "dhl", "tracking_number": "JD-42"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["carrier"] == "dhl" and body["tracking_number"] == "JD-42"
    assert body["status"] == "shipped"
    assert body["lines"] == [{"line": world["line_a"].pk, "quantity": 2}]
    assert [e["status"] for e in body["events"]] == ["shipped"]
    assert Order.objects.get(number=number).status == "partially_shipped"

    shipment = Shipment.objects.get()
    carrier_event_apply(event_pk=deliver_carrier_event(shipment, status="in_transit").pk)
    listed = client_for(world["shopper"]).get(url(f"orders/{number}/shipments/"))
    assert listed.status_code == 200
    (parcel,) = listed.json()
    assert parcel["status"] == "in_transit"
    assert parcel["tracking_url"].endswith("JD-42")
    assert [e["status"] for e in parcel["events"]] == ["shipped", "in_transit"]
    # Someone else's order: 404, never 403.
    assert client_for(UserFactory()).get(url(f"orders/{number}/shipments/")).status_code == 404


def test_ship_errors(world):
    number = world["order"].number
    staff = client_for(world["staff_a"])
    # Not merchant staff: 403. Another merchant's line: 404. Too many: 400.
    not_staff = client_for(world["shopper"]).post(
        url(f"staff/orders/{number}/shipments/"),
        {"carrier": "dhl", "tracking_number": "Z"},
        format="json",
    )
    assert not_staff.status_code == 403 and not_staff.json()["code"] == "not_merchant_staff"
    other_line = staff.post(
        url(f"staff/orders/{number}/shipments/"),
        {"carrier": "dhl", "tracking_number": "Z", "lines": [world["line_b"].pk]},
        format="json",
    )
    assert other_line.status_code == 404
    too_many = staff.post(
        url(f"staff/orders/{number}/shipments/"),
        {
            "carrier": "dhl",
            "tracking_number": "Z",
            "quantities": [{"line": world["line_a"].pk, "quantity": 3}],
        },
        format="json",
    )
    assert too_many.status_code == 400 and too_many.json()["code"] == "invalid"
    outsider = client_for(merchant_with_staff(UserFactory()).staff.get())
    assert (
        outsider.post(
            url(f"staff/orders/{number}/shipments/"),
            {"carrier": "dhl", "tracking_number": "Z"},
            format="json",
        ).status_code
        == 404
    )
    bad_carrier = staff.post(
        url(f"staff/orders/{number}/shipments/"),
        {"carrier": "nope", "tracking_number": "Z"},
        format="json",
    )
    assert bad_carrier.status_code == 400 and "carrier" in bad_carrier.json()["fields"]
    assert not Shipment.objects.exists()


def test_staff_order_list_shows_only_their_lines_with_a_fixed_query_count(world):
    staff = client_for(world["staff_a"])
    for _ in range(3):
        paid_order(
            user=UserFactory(),
            items=[(world["line_a"].variant, 1), (world["line_b"].variant, 1)],
        )
    with CaptureQueriesContext(connection) as queries:
        response = staff.get(url("staff/orders/"))
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 4
    assert all(len(order["lines"]) == 1 for order in body["results"])
    assert all(
        order["lines"][0]["product_name"] == world["line_a"].product_name
        for order in body["results"]
    )
    count_four = len(queries)
    paid_order(user=UserFactory(), items=[(world["line_a"].variant, 1)])
    with CaptureQueriesContext(connection) as queries:
        staff.get(url("staff/orders/"))
    assert len(queries) == count_four  # the same whatever the page holds
    filtered = staff.get(url("staff/orders/?status=shipped")).json()
    assert filtered["count"] == 0
    assert staff.get(url("staff/orders/?status=nonsense")).status_code == 400
    assert client_for(world["shopper"]).get(url("staff/orders/")).status_code == 403


def test_cancel_lines_refunds_exactly_them(world):
    number = world["order"].number
    response = client_for(world["staff_a"]).post(
        url(f"staff/orders/{number}/cancel-lines/"),
        {"lines": [world["line_a"].pk]},
        format="json",
    )
    assert response.status_code == 200, response.content
    (line,) = response.json()["lines"]
    assert (line["cancelled_quantity"], line["unshipped_quantity"]) == (2, 0)
    from payments.models import Refund

    assert Refund.objects.get().amount == Decimal("20.00")
    other = client_for(world["staff_a"]).post(
        url(f"staff/orders/{number}/cancel-lines/"), {"lines": [world["line_b"].pk]}, format="json"
    )
    assert other.status_code == 404


@pytest.fixture
def delivered(world):
    for staff in (world["staff_a"], world["staff_b"]):
        shipment = shipment_create(
            order_id=world["order"].pk,
            carrier="dhl",
            tracking_number=f"D-{staff.pk}",
            by=staff,
        )
        carrier_event_apply(event_pk=deliver_carrier_event(shipment, status="delivered").pk)
    return world


def test_return_flow_over_the_api(delivered):
    world = delivered
    number = world["order"].number
    shopper = client_for(world["shopper"])
    created = shopper.post(
        url(f"orders/{number}/returns/"),
        {"lines": [{"line": world["line_a"].pk, "quantity": 1}], "reason": "damaged"},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "requested" and body["refund_amount"] == "10.00"
    assert body["currency"] == world["order"].currency
    assert body["lines"] == [{"line": world["line_a"].pk, "quantity": 1}]
    assert [r["id"] for r in shopper.get(url(f"orders/{number}/returns/")).json()] == [body["id"]]

    staff = client_for(world["staff_a"])
    assert (
        client_for(world["staff_b"]).post(url(f"staff/returns/{body['id']}/approve/")).status_code
        == 404
    )
    approved = staff.post(
        url(f"staff/returns/{body['id']}/approve/"), {"note": "Box it"}, format="json"
    )
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    received = staff.post(
        url(f"staff/returns/{body['id']}/receive/"),
        {"lines": [{"line": world["line_a"].pk, "restock": True}]},
        format="json",
    )
    assert received.status_code == 200, received.content
    assert received.json()["status"] == "received"
    assert staff.post(url(f"staff/returns/{body['id']}/approve/")).status_code == 409


def test_return_errors(delivered):
    world = delivered
    number = world["order"].number
    shopper = client_for(world["shopper"])
    too_many = shopper.post(
        url(f"orders/{number}/returns/"),
        {"lines": [{"line": world["line_a"].pk, "quantity": 5}], "reason": "other"},
        format="json",
    )
    assert too_many.status_code == 400
    unknown_reason = shopper.post(
        url(f"orders/{number}/returns/"),
        {"lines": [{"line": world["line_a"].pk, "quantity": 1}], "reason": "bored"},
        format="json",
    )
    assert unknown_reason.status_code == 400 and "reason" in unknown_reason.json()["fields"]
    assert (
        client_for(UserFactory())
        .post(
            url(f"orders/{number}/returns/"),
            {"lines": [{"line": world["line_a"].pk, "quantity": 1}], "reason": "other"},
            format="json",
        )
        .status_code
        == 404
    )
    created = shopper.post(
        url(f"orders/{number}/returns/"),
        {"lines": [{"line": world["line_a"].pk, "quantity": 1}], "reason": "other"},
        format="json",
    ).json()
    reject = client_for(world["staff_a"]).post(
        url(f"staff/returns/{created['id']}/reject/"), {}, format="json"
    )
    assert reject.status_code == 400
    cancel = shopper.post(url(f"orders/{number}/returns/{created['id']}/cancel/"))
    assert cancel.status_code == 200 and cancel.json()["status"] == "cancelled"
    assert Return.objects.get().status == "cancelled"


def test_returns_of_undelivered_orders_are_a_409(world):
    number = world["order"].number
    response = client_for(world["shopper"]).post(
        url(f"orders/{number}/returns/"),
        {"lines": [{"line": world["line_a"].pk, "quantity": 1}], "reason": "other"},
        format="json",
    )
    assert response.status_code == 409 and response.json()["code"] == "not_returnable"
