"""Fulfilment made the way the shop makes it: orders paid through the sandbox, shipped
through the service, carrier callbacks signed and taken in like a carrier's."""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Group
from django.utils import timezone

from catalog.services import MERCHANTS_GROUP, merchant_staff_set
from catalog.tests.factories import MerchantFactory, ProductFactory
from fulfilment.services.shipments import carrier_event_receive
from orders.tests.factories import place_order
from payments.providers.base import sign
from payments.services.webhooks import webhook_event_apply
from payments.tests.factories import deliver_sandbox_event, start_sandbox_payment


def carrier_event(
    shipment,
    *,
    status: str,
    occurred_at: datetime | None = None,
    event_id: str | None = None,
    description: str = "",
) -> dict:
    return {
        "id": event_id or f"trk_{secrets.token_hex(8)}",
        "tracking_number": shipment.tracking_number,
        "status": status,
        "description": description or f"Parcel {status}.",
        "occurred_at": (occurred_at or timezone.now()).isoformat(),
    }


def carrier_signed(event: dict, *, secret: str | None = None, timestamp: int | None = None):
    body = json.dumps(event).encode()
    return body, sign(
        payload=body, secret=secret or settings.CARRIER_WEBHOOK_SECRET, timestamp=timestamp
    )


def deliver_carrier_event(shipment, *, status: str, event: dict | None = None, **kwargs):
    """Take a signed carrier callback in, as the webhook view does; returns the stored event."""
    event = event or carrier_event(shipment, status=status, **kwargs)
    body, signature = carrier_signed(event)
    return carrier_event_receive(carrier=shipment.carrier.slug, payload=body, signature=signature)


def merchant_with_staff(staff_user, **kwargs):
    # Made by a data migration; a transactional test before this one flushed it away.
    Group.objects.get_or_create(name=MERCHANTS_GROUP)
    merchant = MerchantFactory(**kwargs)
    merchant_staff_set(merchant=merchant, users=[staff_user])
    return merchant


def paid_order(*, user, items):
    """Place and pay (sandbox) an order of `items` [(variant, quantity)]."""
    order = place_order(user=user, items=items)
    payment = start_sandbox_payment(order)
    event = deliver_sandbox_event(payment, succeeded=True, settings=settings)
    webhook_event_apply(event_pk=event.pk)
    order.refresh_from_db()
    return order


def product_of(merchant, *, price: str = "10.00", stock: int = 20):
    """A variant (of a new product) of `merchant`."""
    product = ProductFactory(
        merchant=merchant, variants__price_amount=Decimal(price), variants__stock=stock
    )
    return product.variants.get()
