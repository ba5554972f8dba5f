"""Queueing tasks from request handlers without ever failing the request."""

import logging

from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue(task, **kwargs) -> bool:
    """Send a task now; False (logged) when the broker cannot take it. Callers have a
    sweeper that finds the work again from the database."""
    try:
        task.apply_async(kwargs=kwargs, retry=False)
    except Exception:
        logger.warning("broker unavailable; %s(%s) left for its sweeper", task.name, kwargs)
        return False
    return True


def enqueue_on_commit(task, **kwargs) -> None:
    """`enqueue` once the current transaction commits (after the response is decided,
    so a broker outage must not turn a saved order into a 500)."""
    transaction.on_commit(lambda: enqueue(task, **kwargs))
