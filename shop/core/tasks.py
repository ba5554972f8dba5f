"""Queueing tasks from request handlers without ever failing the request."""

import logging
from typing import Any, Protocol

from celery import shared_task
from django.db import transaction

logger = logging.getLogger(__name__)


class Task(Protocol):
    """The part of a Celery task that queueing uses (Celery ships no type information)."""

    name: str

    def apply_async(self, *, kwargs: dict[str, Any], retry: bool) -> object: ...


def enqueue(task: Task, **kwargs: Any) -> bool:
    """Send a task now; False (logged) when the broker cannot take it. Callers have a
    sweeper that finds the work again from the database."""
    try:
        task.apply_async(kwargs=kwargs, retry=False)
    except Exception:
        logger.warning("broker unavailable; %s(%s) left for its sweeper", task.name, kwargs)
        return False
    return True


def enqueue_named(name: str, **kwargs: Any) -> bool:
    """`enqueue` for a task known by name only (a stored event's handler), so the code
    that queues it needs no import of the app that defines it."""
    from celery import current_app

    try:
        current_app.send_task(name, kwargs=kwargs, retry=False)
    except Exception:
        logger.warning("broker unavailable; %s(%s) left for its sweeper", name, kwargs)
        return False
    return True


def enqueue_on_commit(task: Task, **kwargs: Any) -> None:
    """`enqueue` once the current transaction commits (after the response is decided,
    so a broker outage must not turn a saved order into a 500)."""
    transaction.on_commit(lambda: enqueue(task, **kwargs))


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=4)
def outbox_email_send_task(*, email_id: int) -> bool:
    from shop.core.outbox import email_send

    return email_send(email_id=email_id)


@shared_task
def outbox_emails_requeue_task() -> int:
    from shop.core.outbox import emails_requeue

    return emails_requeue()
