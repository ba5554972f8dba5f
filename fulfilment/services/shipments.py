"""Shipping lines of an order, and tracking the parcels through carriers' callbacks."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from catalog.selectors import merchants_staffed_by
from fulfilment.errors import CarrierUnavailable, NotMerchantStaff, ShipmentNotFound
from fulfilment.models import Carrier, Shipment, ShipmentEvent, ShipmentLine, ShipmentStatus
from orders.lines import order_event_note, order_lines_ship, order_mark_delivered
from orders.models import Order, OrderLine
from payments.models import WebhookEvent
from payments.providers.base import verify_stripe_signature
from payments.services.webhooks import EventFlagged, inbox_event_apply, inbox_store
from shop.core.outbox import email_queue

if TYPE_CHECKING:
    from accounts.models import User

CARRIER_EVENT_HANDLER = "fulfilment.tasks.carrier_event_apply_task"
# What carriers report (API.md); `shipped` is written by the shipping itself.
CARRIER_STATUSES = (
    ShipmentStatus.IN_TRANSIT,
    ShipmentStatus.OUT_FOR_DELIVERY,
    ShipmentStatus.DELIVERED,
    ShipmentStatus.EXCEPTION,
)
TRACKING_MAX = Shipment._meta.get_field("tracking_number").max_length or 64


def staff_merchants(*, user: User) -> list[int] | None:
    """The merchants a user works for (ships, handles returns); None for a superuser (all).
    Anyone who staffs no merchant: NotMerchantStaff (403)."""
    if user.is_superuser:
        return None
    merchant_ids = merchants_staffed_by(user=user)
    if not merchant_ids:
        raise NotMerchantStaff()
    return merchant_ids


def carrier_get(*, slug: str) -> Carrier:
    carrier = Carrier.objects.filter(slug=slug, is_active=True).first()
    if carrier is None:
        raise ValidationError({"carrier": [_("No active carrier %(slug)s.") % {"slug": slug}]})
    return carrier


def shipment_create(
    *,
    order_id: int,
    carrier: str,
    tracking_number: str,
    by: User,
    lines: Mapping[int, int | None] | None = None,
) -> Shipment:
    """A merchant's staff ship lines of a paid order ({order line id: quantity or None for
    all still to ship}; None: every line of theirs still to ship) with a carrier and a
    tracking number. One merchant per shipment. Another merchant's order or line: 404;
    more than is still to ship: 400. Two staff shipping the same line at once ship it once:
    the order is locked, and the second finds nothing left."""
    merchant_ids = staff_merchants(user=by)
    carrier_row = carrier_get(slug=carrier)
    tracking = (tracking_number or "").strip()
    if not tracking or len(tracking) > TRACKING_MAX:
        raise ValidationError(
            {"tracking_number": [_("Enter 1 to %(n)d characters.") % {"n": TRACKING_MAX}]}
        )
    with transaction.atomic():
        orders = Order.objects.select_for_update()
        order = orders.filter(pk=order_id).first()
        if order is None:
            raise ShipmentNotFound()
        own = OrderLine.objects.filter(order=order).order_by("pk")
        if merchant_ids is not None:
            own = own.filter(merchant_id__in=merchant_ids)
        own_lines = {line.pk: line for line in own}
        if not own_lines:
            raise ShipmentNotFound()  # no line of theirs: not their order
        if lines is None:
            chosen = {pk: line.unshipped_quantity for pk, line in own_lines.items()}
            chosen = {pk: quantity for pk, quantity in chosen.items() if quantity}
        else:
            if any(pk not in own_lines for pk in lines):
                raise ShipmentNotFound()
            chosen = {
                pk: own_lines[pk].unshipped_quantity if quantity is None else quantity
                for pk, quantity in lines.items()
            }
        if not chosen or not any(chosen.values()):
            raise ValidationError({"lines": [_("Nothing of these lines is left to ship.")]})
        merchants = {own_lines[pk].merchant_id for pk in chosen}
        if len(merchants) > 1:
            raise ValidationError({"lines": [_("Ship the lines of one merchant at a time.")]})
        note = f"{carrier_row.name} {tracking}"
        order = order_lines_ship(order=order, quantities=chosen, by=by, note=note)
        now = timezone.now()
        try:
            with transaction.atomic():
                shipment = Shipment.objects.create(
                    order=order,
                    merchant_id=merchants.pop(),
                    carrier=carrier_row,
                    tracking_number=tracking,
                    status=ShipmentStatus.SHIPPED,
                    status_at=now,
                    created_by=by,
                )
        except IntegrityError:
            raise ValidationError(
                {"tracking_number": [_("This tracking number is already in use.")]}
            ) from None
        ShipmentLine.objects.bulk_create(
            ShipmentLine(shipment=shipment, order_line_id=pk, quantity=quantity)
            for pk, quantity in sorted(chosen.items())
        )
        ShipmentEvent.objects.create(
            shipment=shipment,
            status=ShipmentStatus.SHIPPED,
            description=_("Handed to %(carrier)s.") % {"carrier": carrier_row.name},
            occurred_at=now,
        )
        shipped_lines = [(own_lines[pk], quantity) for pk, quantity in sorted(chosen.items())]
        email_queue(
            key=f"shipment-shipped:{shipment.pk}",
            to=[order.email],
            subject=_("Your order %(number)s is on its way") % {"number": order.number},
            template="fulfilment/email/shipped",
            context={"order": order, "shipment": shipment, "lines": shipped_lines},
        )
    return shipment


# --- Carrier callbacks -------------------------------------------------------------------


def carrier_event_receive(*, carrier: str, payload: bytes, signature: str) -> WebhookEvent:
    """Verify a carrier's signed tracking callback and store it in the shop's inbox (the
    payments inbox, with this app's apply task as its handler); answered at once, applied by
    a worker. The same event id twice is stored once."""
    if not Carrier.objects.filter(slug=carrier, is_active=True).exists():
        raise CarrierUnavailable()
    event = verify_stripe_signature(
        payload=payload, signature=signature or "", secret=settings.CARRIER_WEBHOOK_SECRET
    )
    return inbox_store(
        source=f"carrier:{carrier}", event=event, raw_body=payload, handler=CARRIER_EVENT_HANDLER
    )


def carrier_event_apply(*, event_pk: int) -> str:
    """Apply a stored carrier callback once; returns the event's resulting status."""
    return inbox_event_apply(event_pk=event_pk, apply=_apply_carrier_event)


def _occurred_at(value: Any) -> datetime:
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        raise EventFlagged("occurred_at is not an ISO 8601 date and time")
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, UTC)
    return parsed


def _apply_carrier_event(event: WebhookEvent) -> None:
    payload = event.payload
    carrier = event.provider.removeprefix("carrier:")
    tracking = payload.get("tracking_number")
    status = payload.get("status")
    if not isinstance(tracking, str) or not tracking:
        raise EventFlagged("no tracking_number")
    if status not in CARRIER_STATUSES:
        raise EventFlagged(f"unknown status {status!r}")
    occurred_at = _occurred_at(payload.get("occurred_at"))
    description = payload.get("description")
    description = description[:500] if isinstance(description, str) else ""
    found = (
        Shipment.objects.filter(carrier__slug=carrier, tracking_number=tracking)
        .values_list("pk", "order_id")
        .first()
    )
    if found is None:
        raise EventFlagged(f"unknown tracking number {tracking!r} for {carrier}")
    # Lock order: the order, then the shipment.
    order = Order.objects.select_for_update().get(pk=found[1])
    shipment = Shipment.objects.select_for_update().select_related("carrier").get(pk=found[0])
    if shipment.events.filter(source=event.event_id).exists():
        return  # the same callback stored under another inbox row: nothing twice
    ShipmentEvent.objects.create(
        shipment=shipment,
        status=status,
        description=description,
        occurred_at=occurred_at,
        source=event.event_id,
    )
    if occurred_at < shipment.status_at:
        return  # an older step arriving late: in the timeline, never the current status
    shipment.status = status
    shipment.status_at = occurred_at
    if status == ShipmentStatus.DELIVERED:
        shipment.delivered_at = occurred_at
    shipment.save(update_fields=["status", "status_at", "delivered_at", "updated_at"])
    if status == ShipmentStatus.EXCEPTION:
        order_event_note(
            order=order,
            note=_("Delivery problem with %(carrier)s %(tracking)s: %(what)s")
            % {"carrier": shipment.carrier.name, "tracking": tracking, "what": description},
        )
    if status == ShipmentStatus.DELIVERED:
        email_queue(
            key=f"shipment-delivered:{shipment.pk}",
            to=[order.email],
            subject=_("Delivered: a parcel of your order %(number)s") % {"number": order.number},
            template="fulfilment/email/delivered",
            context={"order": order, "shipment": shipment},
        )
        _order_follow_deliveries(order)


def _order_follow_deliveries(order: Order) -> None:
    """A shipped order whose every shipment is delivered is delivered."""
    if order.status != Order.Status.SHIPPED:
        return  # lines still to ship (or cancelled, refunded): nothing to say yet
    undelivered = Shipment.objects.filter(order=order).exclude(status=ShipmentStatus.DELIVERED)
    if not undelivered.exists():
        order_mark_delivered(order=order, note=_("Every parcel is delivered."))


# --- The sandbox carrier -----------------------------------------------------------------

SANDBOX_NEXT: dict[str, str] = {
    ShipmentStatus.SHIPPED: ShipmentStatus.IN_TRANSIT,
    ShipmentStatus.IN_TRANSIT: ShipmentStatus.OUT_FOR_DELIVERY,
    ShipmentStatus.OUT_FOR_DELIVERY: ShipmentStatus.DELIVERED,
    ShipmentStatus.EXCEPTION: ShipmentStatus.IN_TRANSIT,
}
SANDBOX_TEXT: dict[str, str] = {
    ShipmentStatus.IN_TRANSIT: "Parcel in transit (sandbox).",
    ShipmentStatus.OUT_FOR_DELIVERY: "Out for delivery (sandbox).",
    ShipmentStatus.DELIVERED: "Delivered to the recipient (sandbox).",
}


def sandbox_carrier_event_build(*, shipment: Shipment) -> dict[str, Any] | None:
    """The next tracking callback a sandbox carrier would send for a shipment (in transit,
    out for delivery, delivered); None when it is delivered or not a sandbox carrier's."""
    if not shipment.carrier.is_sandbox:
        return None
    status = SANDBOX_NEXT.get(shipment.status)
    if status is None:
        return None
    return {
        "id": f"sbx_trk_{secrets.token_hex(12)}",
        "tracking_number": shipment.tracking_number,
        "status": status,
        "description": SANDBOX_TEXT[status],
        "occurred_at": max(timezone.now(), shipment.status_at).isoformat(),
    }


def order_lines_cancel_for_staff(
    *, order_id: int, lines: Mapping[int, int | None], by: User, reason: str = ""
) -> Order:
    """A merchant's staff cancel units of their lines they cannot send ({order line id:
    quantity, or None for all still to ship}); the shopper is refunded exactly those units
    (payments.services.cancel.order_lines_cancel). Another merchant's order or line: 404."""
    from payments.services.cancel import order_lines_cancel

    merchant_ids = staff_merchants(user=by)
    own = OrderLine.objects.filter(order_id=order_id)
    if merchant_ids is not None:
        own = own.filter(merchant_id__in=merchant_ids)
    own_lines = {line.pk: line for line in own}
    if not own_lines or any(pk not in own_lines for pk in lines):
        raise ShipmentNotFound()
    quantities = {
        pk: own_lines[pk].unshipped_quantity if quantity is None else quantity
        for pk, quantity in lines.items()
    }
    if not any(quantities.values()):
        raise ValidationError({"lines": [_("Nothing of these lines is left to ship.")]})
    return order_lines_cancel(
        order_id=order_id,
        quantities={pk: quantity for pk, quantity in quantities.items() if quantity},
        by=by,
        reason=reason or _("The merchant cannot send these items."),
    )
