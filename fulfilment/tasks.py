"""Celery entry points: load by id, call a service. All idempotent (acks_late is global)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from payments.tasks import MAX_APPLY_ATTEMPTS, inbox_apply_with_retries, post_signed


@shared_task(bind=True, max_retries=MAX_APPLY_ATTEMPTS)
def carrier_event_apply_task(self: Any, *, event_pk: int) -> str:
    from fulfilment.services.shipments import carrier_event_apply

    return inbox_apply_with_retries(self, event_pk=event_pk, apply=carrier_event_apply)


# acks_late=False: a redelivery would send the carrier's callback twice; harmless (the
# event id is the same, so the second is a no-op), but there is no need to.
@shared_task(acks_late=False, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def carrier_sandbox_send_task(*, url: str, event: dict[str, Any]) -> int:
    """Play the sandbox carrier: POST a signed tracking event to our webhook."""
    from django.conf import settings

    return post_signed(url=url, event=event, secret=settings.CARRIER_WEBHOOK_SECRET)


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
