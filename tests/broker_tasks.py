"""A task that exists only for tests/test_broker_restart.py; the worker that test starts
imports this module (`celery -A shop worker --include tests.broker_tasks`), no other does."""

import time

import redis
from celery import shared_task


@shared_task
def broker_probe_task(*, n: int, store_url: str, key: str, seconds: float) -> None:
    """Count a start, work for `seconds`, then record that task `n` finished.

    The records go to another Redis than the broker the test kills, so a finish is never
    lost with it. Idempotent (sets), like every task of ours: acks_late may run it twice."""
    store = redis.Redis.from_url(store_url)
    store.incr(f"{key}:starts")
    # Stands for the work of a real task: long enough that a broker kill lands mid-task.
    time.sleep(seconds)
    store.sadd(f"{key}:done", n)
    store.incr(f"{key}:runs")
