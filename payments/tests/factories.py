"""Payments made the way the shop makes them: through the services."""

import json

from payments.providers.base import sign
from payments.providers.sandbox import sandbox_event_build
from payments.services.start import payment_start
from payments.services.webhooks import webhook_receive


def start_sandbox_payment(order):
    return payment_start(order=order, provider_name="sandbox")


def signed(event: dict, *, secret: str, timestamp: int | None = None) -> tuple[bytes, str]:
    body = json.dumps(event).encode()
    return body, sign(payload=body, secret=secret, timestamp=timestamp)


def deliver_sandbox_event(payment, *, succeeded: bool, settings, event: dict | None = None):
    """Send a signed sandbox event through webhook intake; returns the stored event."""
    event = event or sandbox_event_build(payment=payment, succeeded=succeeded)
    body, signature = signed(event, secret=settings.SANDBOX_WEBHOOK_SECRET)
    return webhook_receive(provider_name="sandbox", payload=body, signature=signature)
