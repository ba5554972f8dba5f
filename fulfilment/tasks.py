"""Celery entry points: load by id, call a service. All idempotent (acks_late is global)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from celery import shared_task

from payments.errors import EventNotReady

MAX_APPLY_ATTEMPTS = 8


@shared_task(bind=True, max_retries=MAX_APPLY_ATTEMPTS)
def carrier_event_apply_task(self: Any, *, event_pk: int) -> str:
    from fulfilment.services.shipments import carrier_event_apply
    from payments.services.webhooks import webhook_event_mark_failed

    try:
        return carrier_event_apply(event_pk=event_pk)
    except EventNotReady as exc:
        raise self.retry(exc=exc, countdown=min(2**self.request.retries, 60)) from exc
    except Exception as exc:
        if self.request.retries >= MAX_APPLY_ATTEMPTS:
            webhook_event_mark_failed(event_pk=event_pk, error=repr(exc))
            raise
        raise self.retry(exc=exc, countdown=min(2**self.request.retries, 300)) from exc


# acks_late=False: a redelivery would send the carrier's callback twice; harmless (the
# event id is the same, so the second is a no-op), but there is no need to.
@shared_task(acks_late=False, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def carrier_sandbox_send_task(*, url: str, event: dict[str, Any]) -> int:
    """Play the sandbox carrier: POST a signed tracking event to our webhook."""
    from django.conf import settings

    from payments.providers.base import sign

    body = json.dumps(event).encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Stripe-Signature": sign(payload=body, secret=settings.CARRIER_WEBHOOK_SECRET),
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status)


@shared_task(bind=True, max_retries=60)
def returns_settle_task(self: Any, *, return_id: int | None = None) -> int:
    """After a receipt (queued with the commit; it looks again every few seconds while the
    refund is on its way), and every minute by beat for all: returns whose refunds went
    through become refunded."""
    from fulfilment.services.returns import return_awaits_refund, returns_settle

    settled = returns_settle(return_id=return_id)
    if return_id is not None and not settled and return_awaits_refund(return_id=return_id):
        raise self.retry(countdown=2)
    return settled
