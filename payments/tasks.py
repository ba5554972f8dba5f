"""Celery entry points: load by id, call a service. All idempotent (acks_late is global)."""

import json
import logging
import urllib.request
from collections.abc import Callable
from typing import Any

from celery import Task, shared_task

from payments.errors import EventNotReady, ProviderError

logger = logging.getLogger(__name__)

MAX_APPLY_ATTEMPTS = 8


def inbox_apply_with_retries(task: Task, *, event_pk: int, apply: Callable[..., str]) -> str:
    """Apply a stored callback with `apply`, under the inbox's retry policy (shared by
    every handler): an event that arrived before the state it needs is retried soon; any
    other failure backs off and, after MAX_APPLY_ATTEMPTS, marks the event failed for
    staff."""
    from payments.services.webhooks import webhook_event_mark_failed

    try:
        return apply(event_pk=event_pk)
    except EventNotReady as exc:
        # Out of order (a refund before its capture): the state it needs is on its way.
        raise task.retry(exc=exc, countdown=min(2**task.request.retries, 60)) from exc
    except Exception as exc:
        if task.request.retries >= MAX_APPLY_ATTEMPTS:
            webhook_event_mark_failed(event_pk=event_pk, error=repr(exc))
            raise
        raise task.retry(exc=exc, countdown=min(2**task.request.retries, 300)) from exc


def post_signed(*, url: str, event: dict[str, Any], secret: str) -> int:
    """POST `event` to `url` signed as Stripe signs (how the sandboxes play a provider
    or a carrier calling our webhooks); the HTTP status."""
    from payments.providers.base import sign

    body = json.dumps(event).encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Stripe-Signature": sign(payload=body, secret=secret),
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status)


@shared_task(bind=True, max_retries=MAX_APPLY_ATTEMPTS)
def webhook_event_apply_task(self: Task, *, event_pk: int) -> str:
    from payments.services.webhooks import webhook_event_apply

    return inbox_apply_with_retries(self, event_pk=event_pk, apply=webhook_event_apply)


@shared_task
def webhook_events_requeue_task() -> int:
    from payments.services.cancel import payment_voids_requeue
    from payments.services.refunds import refunds_requeue
    from payments.services.webhooks import webhook_events_requeue

    # The same sweep (beat "webhook-events-requeue") also picks up refunds and voids whose
    # task never reached the broker.
    return webhook_events_requeue() + refunds_requeue() + payment_voids_requeue()


@shared_task(autoretry_for=(ProviderError,), retry_backoff=True, max_retries=8)
def refund_execute_task(*, refund_id: int) -> None:
    from payments.services.refunds import refund_execute

    refund_execute(refund_id=refund_id)


@shared_task(autoretry_for=(ProviderError,), retry_backoff=True, max_retries=8)
def payment_void_execute_task(*, payment_id: int) -> bool:
    from payments.services.cancel import payment_void_execute

    return payment_void_execute(payment_id=payment_id)


# acks_late=False: a redelivery would send the provider's callback twice; harmless (the
# event id is the same, so the second is a no-op), but there is no need to.
@shared_task(acks_late=False, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def sandbox_webhook_send_task(*, url: str, event: dict[str, Any]) -> int:
    """Play the sandbox provider: POST a signed event to our webhook, as Stripe would."""
    from django.conf import settings

    return post_signed(url=url, event=event, secret=settings.SANDBOX_WEBHOOK_SECRET)
