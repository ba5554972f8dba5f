"""Shipping, tracking and returns through their services, on real rows."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.tests.factories import UserFactory
from catalog.models import StockMovement
from fulfilment.errors import NotMerchantStaff, NotReturnable, ShipmentNotFound
from fulfilment.models import Return, Shipment, ShipmentEvent
from fulfilment.services.returns import (
    return_approve,
    return_cancel,
    return_receive,
    return_reject,
    return_request,
    returns_settle,
)
from fulfilment.services.shipments import (
    carrier_event_apply,
    order_lines_cancel_for_staff,
    shipment_create,
)
from fulfilment.tests.factories import (
    carrier_event,
    deliver_carrier_event,
    merchant_with_staff,
    paid_order,
    product_of,
)
from orders.errors import InvalidTransition
from orders.models import Order, OrderEvent
from orders.selectors import stock_drift
from payments.models import Payment, Refund, WebhookEvent
from payments.services.refunds import refund_execute
from shop.core.models import OutboxEmail
from shop.core.outbox import email_send

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    return UserFactory(email="staff@merchant-a.example")


@pytest.fixture
def shop(staff):
    """Merchant A (staffed by `staff`) and B, a variant each, and a paid order of
    2 x A's variant and 1 x B's."""
    merchant_a = merchant_with_staff(staff, name="Merchant A")
    merchant_b = merchant_with_staff(UserFactory(email="staff@merchant-b.example"))
    a = product_of(merchant_a, price="10.00")
    b = product_of(merchant_b, price="5.00")
    shopper = UserFactory(email="shopper@example.com")
    order = paid_order(user=shopper, items=[(a, 2), (b, 1)])
    lines = {line.variant_id: line for line in order.lines.all()}
    return {
        "order": order,
        "shopper": shopper,
        "line_a": lines[a.pk],
        "line_b": lines[b.pk],
        "variant_a": a,
        "variant_b": b,
        "staff_b": merchant_b.staff.get(),
    }


def _emails(key_prefix: str) -> list[OutboxEmail]:
    return list(OutboxEmail.objects.filter(key__startswith=key_prefix).order_by("pk"))


# --- Shipping --------------------------------------------------------------------------


def test_staff_ship_all_their_lines_by_default_and_the_order_is_partially_shipped(shop, staff):
    shipment = shipment_create(
        order_id=shop["order"].pk, carrier="dhl", tracking_number=" JD0001 ", by=staff
    )
    order = Order.objects.get(pk=shop["order"].pk)
    assert order.status == Order.Status.PARTIALLY_SHIPPED
    assert order.fulfilment_status == Order.FulfilmentStatus.PARTIALLY_SHIPPED
    assert shipment.tracking_number == "JD0001"
    assert [(line.order_line_id, line.quantity) for line in shipment.lines.all()] == [
        (shop["line_a"].pk, 2)
    ]
    assert shipment.tracking_url.endswith("tracking-id=JD0001")
    assert list(shipment.events.values_list("status", flat=True)) == ["shipped"]
    shop["line_a"].refresh_from_db()
    assert (shop["line_a"].shipped_quantity, shop["line_a"].unshipped_quantity) == (2, 0)
    # An event per change: the shipment, then the status change.
    kinds = list(order.events.values_list("kind", "to_status"))
    assert kinds[-2:] == [("shipment", "paid"), ("status_changed", "partially_shipped")]
    (email,) = _emails("shipment-shipped:")
    assert email.to == ["shopper@example.com"] and "JD0001" in email.body_text


def test_the_last_lines_make_the_order_shipped(shop, staff):
    shipment_create(order_id=shop["order"].pk, carrier="dhl", tracking_number="A1", by=staff)
    shipment_create(
        order_id=shop["order"].pk, carrier="ups", tracking_number="B1", by=shop["staff_b"]
    )
    assert Order.objects.get(pk=shop["order"].pk).status == Order.Status.SHIPPED


def test_part_of_a_line_ships_and_more_than_is_left_is_a_400(shop, staff):
    line = shop["line_a"]
    shipment_create(
        order_id=shop["order"].pk, carrier="dhl", tracking_number="P1", lines={line.pk: 1}, by=staff
    )
    with pytest.raises(ValidationError) as exc:
        shipment_create(
            order_id=shop["order"].pk,
            carrier="dhl",
            tracking_number="P2",
            lines={line.pk: 2},
            by=staff,
        )
    assert "lines" in exc.value.message_dict
    line.refresh_from_db()
    assert line.shipped_quantity == 1
    assert Shipment.objects.count() == 1  # nothing half-written


def test_another_merchants_line_or_order_is_not_found_and_non_staff_are_refused(shop, staff):
    with pytest.raises(ShipmentNotFound):
        shipment_create(
            order_id=shop["order"].pk,
            carrier="dhl",
            tracking_number="X1",
            lines={shop["line_b"].pk: 1},
            by=staff,
        )
    outsider = merchant_with_staff(UserFactory()).staff.get()
    with pytest.raises(ShipmentNotFound):
        shipment_create(order_id=shop["order"].pk, carrier="dhl", tracking_number="X2", by=outsider)
    with pytest.raises(NotMerchantStaff):
        shipment_create(
            order_id=shop["order"].pk, carrier="dhl", tracking_number="X3", by=shop["shopper"]
        )


def test_an_unpaid_order_cannot_ship_and_an_unknown_carrier_or_used_number_is_a_400(staff):
    merchant = merchant_with_staff(staff)
    variant = product_of(merchant)
    from orders.tests.factories import place_order

    unpaid = place_order(user=UserFactory(), items=[(variant, 1)])
    with pytest.raises(InvalidTransition):
        shipment_create(order_id=unpaid.pk, carrier="dhl", tracking_number="U1", by=staff)
    with pytest.raises(ValidationError) as exc:
        shipment_create(order_id=unpaid.pk, carrier="nope", tracking_number="U2", by=staff)
    assert "carrier" in exc.value.message_dict
    paid = paid_order(user=UserFactory(), items=[(variant, 2)])
    line = paid.lines.get()
    shipment_create(
        order_id=paid.pk, carrier="dhl", tracking_number="SAME", lines={line.pk: 1}, by=staff
    )
    with pytest.raises(ValidationError) as exc:
        shipment_create(
            order_id=paid.pk, carrier="dhl", tracking_number="SAME", lines={line.pk: 1}, by=staff
        )
    assert "tracking_number" in exc.value.message_dict
    line.refresh_from_db()
    assert line.shipped_quantity == 1


def test_once_anything_shipped_the_shopper_cannot_cancel(shop, staff):
    from payments.services.cancel import order_cancel

    shipment_create(order_id=shop["order"].pk, carrier="dhl", tracking_number="C1", by=staff)
    with pytest.raises(InvalidTransition):
        order_cancel(order_id=shop["order"].pk, by=shop["shopper"])


# --- Merchant cancels lines it cannot send -----------------------------------------------


def test_a_merchant_cancels_its_unshipped_line_refunding_exactly_it(shop, staff):
    variant = shop["variant_a"]
    variant.refresh_from_db()
    stock_before = variant.stock
    order_lines_cancel_for_staff(
        order_id=shop["order"].pk, lines={shop["line_a"].pk: None}, by=staff
    )
    variant.refresh_from_db()
    assert variant.stock == stock_before + 2
    refund = Refund.objects.get()
    assert refund.amount == Decimal("20.00")  # 2 x 10.00, no shipping: B's line still ships
    assert Order.objects.get(pk=shop["order"].pk).status == Order.Status.PAID
    refund_execute(refund_id=refund.pk)
    payment = Payment.objects.get()
    assert payment.status == Payment.Status.PARTIALLY_REFUNDED
    assert stock_drift() == []
    # B ships the rest: the order is shipped (A's cancelled line counts as done).
    shipment_create(
        order_id=shop["order"].pk, carrier="ups", tracking_number="B9", by=shop["staff_b"]
    )
    assert Order.objects.get(pk=shop["order"].pk).status == Order.Status.SHIPPED


def test_cancelling_every_line_cancels_the_order_with_its_shipping(shop, staff):
    order = shop["order"]
    order_lines_cancel_for_staff(order_id=order.pk, lines={shop["line_a"].pk: None}, by=staff)
    order_lines_cancel_for_staff(
        order_id=order.pk, lines={shop["line_b"].pk: None}, by=shop["staff_b"]
    )
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    refunded = sum(Refund.objects.values_list("amount", flat=True), Decimal("0"))
    assert refunded == order.total_amount  # the lines and the shipping
    for refund in Refund.objects.all():
        refund_execute(refund_id=refund.pk)
    order.refresh_from_db()
    assert order.payment_status == Order.PaymentStatus.REFUNDED
    assert stock_drift() == []
    shop["variant_a"].refresh_from_db()
    assert shop["variant_a"].stock == 20  # back exactly once, not again by the full refund


# --- Carrier callbacks -------------------------------------------------------------------


@pytest.fixture
def shipped(shop, staff):
    shipment = shipment_create(
        order_id=shop["order"].pk, carrier="dhl", tracking_number="T1", by=staff
    )
    other = shipment_create(
        order_id=shop["order"].pk, carrier="dhl", tracking_number="T2", by=shop["staff_b"]
    )
    return shipment, other


def test_tracking_events_move_the_shipment_and_all_delivered_delivers_the_order(shop, shipped):
    first, second = shipped
    assert (
        carrier_event_apply(event_pk=deliver_carrier_event(first, status="in_transit").pk)
        == WebhookEvent.Status.PROCESSED
    )
    carrier_event_apply(event_pk=deliver_carrier_event(first, status="delivered").pk)
    first.refresh_from_db()
    assert first.status == Shipment.Status.DELIVERED and first.delivered_at is not None
    assert Order.objects.get(pk=shop["order"].pk).status == Order.Status.SHIPPED
    carrier_event_apply(event_pk=deliver_carrier_event(second, status="delivered").pk)
    order = Order.objects.get(pk=shop["order"].pk)
    assert order.status == Order.Status.DELIVERED
    assert order.fulfilment_status == Order.FulfilmentStatus.DELIVERED
    assert len(_emails("shipment-delivered:")) == 2


def test_a_late_older_event_joins_the_timeline_but_never_moves_the_status_back(shipped):
    shipment, _other = shipped
    now = timezone.now()
    carrier_event_apply(
        event_pk=deliver_carrier_event(
            shipment, status="out_for_delivery", occurred_at=now + timedelta(hours=2)
        ).pk
    )
    carrier_event_apply(
        event_pk=deliver_carrier_event(
            shipment, status="in_transit", occurred_at=now + timedelta(hours=1)
        ).pk
    )
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.OUT_FOR_DELIVERY
    timeline = list(shipment.events.values_list("status", flat=True))
    assert timeline == ["shipped", "in_transit", "out_for_delivery"]  # by when they happened


def test_the_same_event_twice_changes_nothing(shipped):
    shipment, _other = shipped
    event = carrier_event(shipment, status="in_transit", event_id="trk-dup")
    first = deliver_carrier_event(shipment, status="in_transit", event=event)
    again = deliver_carrier_event(shipment, status="in_transit", event=event)
    assert first.pk == again.pk  # stored once
    carrier_event_apply(event_pk=first.pk)
    carrier_event_apply(event_pk=first.pk)  # a redelivered task
    assert ShipmentEvent.objects.filter(shipment=shipment, source="trk-dup").count() == 1


def test_an_unknown_tracking_number_or_status_is_stored_and_flagged(shipped):
    shipment, _other = shipped
    shipment.tracking_number = "NOT-OURS"
    stored = deliver_carrier_event(shipment, status="in_transit")
    assert carrier_event_apply(event_pk=stored.pk) == WebhookEvent.Status.FLAGGED
    stored.refresh_from_db()
    assert "unknown tracking number" in stored.last_error
    shipment.refresh_from_db()
    weird = deliver_carrier_event(shipment, status="teleported")
    assert carrier_event_apply(event_pk=weird.pk) == WebhookEvent.Status.FLAGGED


def test_an_exception_is_noted_on_the_order(shop, shipped):
    shipment, _other = shipped
    carrier_event_apply(
        event_pk=deliver_carrier_event(
            shipment, status="exception", description="Address not found"
        ).pk
    )
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.EXCEPTION
    assert OrderEvent.objects.filter(
        order=shop["order"], note__contains="Address not found"
    ).exists()


# --- Returns ---------------------------------------------------------------------------


@pytest.fixture
def delivered(shop, shipped):
    for shipment in shipped:
        carrier_event_apply(event_pk=deliver_carrier_event(shipment, status="delivered").pk)
    return shop


def test_a_return_goes_requested_approved_received_refunded(delivered, staff, settings):
    shop = delivered
    order, line = shop["order"], shop["line_a"]
    requested = return_request(
        order_id=order.pk,
        user=shop["shopper"],
        lines={line.pk: 1},
        reason="damaged",
        comment="Cracked",
    )
    assert requested.status == Return.Status.REQUESTED
    assert requested.refund_amount == Decimal("10.00")
    assert _emails("return-requested:")[0].to == ["staff@merchant-a.example"]
    return_approve(return_id=requested.pk, by=staff, note="Send it to 1 Depot Road")
    assert "1 Depot Road" in _emails("return-approved:")[0].body_text
    shop["variant_a"].refresh_from_db()
    stock_before = shop["variant_a"].stock
    return_receive(return_id=requested.pk, by=staff, restock={line.pk: True})
    shop["variant_a"].refresh_from_db()
    assert shop["variant_a"].stock == stock_before + 1
    movement = StockMovement.objects.get(reason=StockMovement.Reason.RETURN)
    assert (movement.delta, movement.actor) == (1, staff)
    assert returns_settle() == 0  # the refund is still on its way
    refund_execute(refund_id=Refund.objects.get().pk)
    assert returns_settle() == 1
    requested.refresh_from_db()
    assert requested.status == Return.Status.REFUNDED
    assert Payment.objects.get().status == Payment.Status.PARTIALLY_REFUNDED
    assert len(_emails("return-refunded:")) == 1
    assert Order.objects.get(pk=order.pk).status == Order.Status.DELIVERED


def test_returning_everything_refunds_the_shipping_and_refunds_the_order(delivered, staff):
    shop = delivered
    order = shop["order"]
    first = return_request(
        order_id=order.pk, user=shop["shopper"], lines={shop["line_a"].pk: 2}, reason="other"
    )
    second = return_request(
        order_id=order.pk, user=shop["shopper"], lines={shop["line_b"].pk: 1}, reason="other"
    )
    assert first.refund_amount == Decimal("20.00")
    assert second.refund_amount == Decimal("5.00") + order.shipping_amount
    for found, by in ((first, staff), (second, shop["staff_b"])):
        return_approve(return_id=found.pk, by=by)
        line_id = found.lines.get().order_line_id
        return_receive(return_id=found.pk, by=by, restock={line_id: False})
    for refund in Refund.objects.all():
        refund_execute(refund_id=refund.pk)
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert Payment.objects.get().status == Payment.Status.REFUNDED


def test_return_guards(delivered, staff, settings):
    shop = delivered
    order, line = shop["order"], shop["line_a"]
    with pytest.raises(ValidationError):  # more than delivered
        return_request(order_id=order.pk, user=shop["shopper"], lines={line.pk: 3}, reason="other")
    return_request(order_id=order.pk, user=shop["shopper"], lines={line.pk: 2}, reason="other")
    with pytest.raises(ValidationError):  # already in a return
        return_request(order_id=order.pk, user=shop["shopper"], lines={line.pk: 1}, reason="other")
    with pytest.raises(ValidationError):  # two merchants at once
        return_request(
            order_id=order.pk,
            user=shop["shopper"],
            lines={shop["line_b"].pk: 1, line.pk: 1},
            reason="other",
        )
    settings.RETURN_WINDOW_DAYS = 0
    with pytest.raises(NotReturnable):
        return_request(
            order_id=order.pk, user=shop["shopper"], lines={shop["line_b"].pk: 1}, reason="other"
        )


def test_undelivered_lines_cannot_be_returned(shop, staff):
    shipment_create(order_id=shop["order"].pk, carrier="dhl", tracking_number="N1", by=staff)
    with pytest.raises(NotReturnable):
        return_request(
            order_id=shop["order"].pk,
            user=shop["shopper"],
            lines={shop["line_a"].pk: 1},
            reason="other",
        )


def test_reject_needs_a_note_cancel_frees_the_items_and_others_see_nothing(delivered, staff):
    shop = delivered
    order, line = shop["order"], shop["line_a"]
    found = return_request(
        order_id=order.pk, user=shop["shopper"], lines={line.pk: 2}, reason="other"
    )
    with pytest.raises(ValidationError):
        return_reject(return_id=found.pk, by=staff, note=" ")
    from fulfilment.errors import ReturnNotFound

    with pytest.raises(ReturnNotFound):
        return_approve(return_id=found.pk, by=shop["staff_b"])
    with pytest.raises(ReturnNotFound):
        return_cancel(return_id=found.pk, user=UserFactory())
    return_cancel(return_id=found.pk, user=shop["shopper"])
    # Cancelled: its units can be asked for again.
    again = return_request(
        order_id=order.pk, user=shop["shopper"], lines={line.pk: 2}, reason="other"
    )
    return_reject(return_id=again.pk, by=staff, note="Used")
    assert _emails("return-rejected:")[0].body_text.count("Used") == 1


def test_receive_needs_every_line(delivered, staff):
    shop = delivered
    found = return_request(
        order_id=shop["order"].pk,
        user=shop["shopper"],
        lines={shop["line_a"].pk: 1},
        reason="other",
    )
    return_approve(return_id=found.pk, by=staff)
    with pytest.raises(ValidationError):
        return_receive(return_id=found.pk, by=staff, restock={})
    found.refresh_from_db()
    assert found.status == Return.Status.APPROVED
    assert not Refund.objects.exists()


# --- The outbox ----------------------------------------------------------------------------


def test_an_email_is_sent_once_whatever_runs_its_task(shop, staff):
    shipment_create(order_id=shop["order"].pk, carrier="dhl", tracking_number="M1", by=staff)
    (email,) = _emails("shipment-shipped:")
    mail.outbox.clear()
    assert email_send(email_id=email.pk) is True
    assert email_send(email_id=email.pk) is False  # a redelivered task
    assert len(mail.outbox) == 1
    assert mail.outbox[0].alternatives  # text and HTML
