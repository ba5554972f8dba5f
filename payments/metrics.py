"""Payments' Prometheus metrics (shop/core/metrics.py explains the set-up): payments
captured, counted by the process that commits the capture (the Celery worker that applies
the provider's webhook), and the webhook inbox's backlog, read from the database at scrape."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily, Metric

PAYMENTS_CAPTURED = Counter(
    "bazaar_payments_captured",
    "Payments captured, counted when the capturing transaction commits.",
    ["provider"],
)


def webhook_inbox_metrics() -> Iterable[Metric]:
    """Unapplied events and the age of the oldest, per inbox (payments, carriers)."""
    from payments.selectors import webhook_inbox_backlog

    backlog = GaugeMetricFamily(
        "bazaar_webhook_inbox_backlog",
        "Stored webhook events not yet applied (status received).",
        labels=["inbox"],
    )
    age = GaugeMetricFamily(
        "bazaar_webhook_inbox_oldest_age_seconds",
        "Age of the oldest stored webhook event not yet applied (0 when none).",
        labels=["inbox"],
    )
    now = timezone.now()
    for inbox, (count, oldest) in sorted(webhook_inbox_backlog().items()):
        backlog.add_metric([inbox], count)
        age.add_metric([inbox], max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
    return [backlog, age]
