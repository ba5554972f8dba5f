"""Queueing tasks from request handlers without ever failing the request."""

import logging
from typing import Any, Protocol

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


def enqueue_on_commit(task: Task, **kwargs: Any) -> None:
    """`enqueue` once the current transaction commits (after the response is decided,
    so a broker outage must not turn a saved order into a 500)."""
    transaction.on_commit(lambda: enqueue(task, **kwargs))
