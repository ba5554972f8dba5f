"""Helpers for the payments tests: orders with payments, provider events, the real broker.

Tasks are never run eagerly: what the shop enqueues lands in Redis (the test database of
REDIS_URL) and the tests read it from there and call the task functions themselves."""

from __future__ import annotations

import base64
import contextlib
import json
import math
import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlsplit

import kombu.utils.functional
import pytest
import redis
import redis.connection
from django.utils import timezone

from accounts.tests.factories import UserFactory
from catalog.tests.factories import VariantFactory
from orders.tests.factories import place_order
from payments.models import Payment
from payments.services.webhooks import webhook_receive
from payments.tests.factories import signed, start_sandbox_payment
from shop.celery import app
from shop.core.money import Money

CLOSED_BROKER = "redis://127.0.0.1:1/0"


def order_with_payment(*, stock: int = 5, quantity: int = 2, price: str = "10.00", user=None):
    """(variant, order, pending sandbox payment) for `quantity` units of a fresh variant."""
    variant = VariantFactory(stock=stock, price_amount=Decimal(price))
    order = place_order(user=user or UserFactory(), items=[(variant, quantity)])
    return variant, order, start_sandbox_payment(order)


def provider_event(
    payment: Payment,
    type: str = "payment_intent.succeeded",
    *,
    event_id: str | None = None,
    **overrides,
) -> dict:
    """A Stripe-shaped event about `payment`; `overrides` replace keys of data.object."""
    minor = Money(payment.amount, payment.currency).to_minor_units()
    obj = {
        "id": payment.provider_reference,
        "object": "charge" if type.startswith("charge.") else "payment_intent",
        "amount": minor,
        "currency": payment.currency.lower(),
        "metadata": {"order_number": payment.order.number, "payment_id": str(payment.pk)},
    }
    if type == "payment_intent.payment_failed":
        obj["last_payment_error"] = {"message": "Your card was declined."}
    obj.update(overrides)
    return {
        "id": event_id or f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "type": type,
        "created": int(timezone.now().timestamp()),
        "data": {"object": obj},
    }


def refunded_event(payment: Payment, *, total_refunded: str, **kw) -> dict:
    amount = Money(Decimal(total_refunded), payment.currency).to_minor_units()
    return provider_event(payment, "charge.refunded", amount_refunded=amount, **kw)


def deliver(event: dict, *, secret: str, provider: str = "sandbox"):
    """Through intake as the provider would send it; returns the stored WebhookEvent."""
    body, signature = signed(event, secret=secret)
    return webhook_receive(provider_name=provider, payload=body, signature=signature)


# --- The real broker -------------------------------------------------------------------


def _redis() -> redis.Redis:
    return redis.Redis.from_url(app.conf.broker_url)


def queued() -> list[tuple[str, dict]]:
    """(task name, kwargs) of every message waiting in the default queue, oldest first."""
    messages = []
    for raw in reversed(_redis().lrange("celery", 0, -1)):  # LPUSHed: newest first
        message = json.loads(raw)
        _args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        messages.append((message["headers"]["task"], kwargs))
    return messages


def queued_for(task_name: str) -> list[dict]:
    return [kwargs for name, kwargs in queued() if name == task_name]


def queue_clear() -> None:
    _redis().delete("celery")


def _pools_reset() -> None:
    # The app caches its connection and producer pools; drop them so the next publish
    # connects to whatever `broker_url` says now.
    app._pool = None
    app.amqp._producer_pool = None


@contextlib.contextmanager
def broker_down():
    """The Celery broker is a closed port until the block ends: every enqueue fails."""
    original = app.conf.broker_url
    app.conf.broker_url = CLOSED_BROKER
    _pools_reset()
    try:
        yield
    finally:
        app.conf.broker_url = original
        _pools_reset()


@dataclass
class PublishCost:
    """What publishing cost while the broker was down, counted instead of timed."""

    connect_timeouts: list[float | None] = field(default_factory=list)  # one per attempt
    pauses: list[float] = field(default_factory=list)  # kombu's waits between attempts

    @property
    def worst_case_seconds(self) -> float:
        """How long these attempts could take against a broker that never answers (a host
        that drops packets): every connect waiting out its timeout, plus every pause."""
        waits = [math.inf if timeout is None else timeout for timeout in self.connect_timeouts]
        return sum(waits) + sum(self.pauses)


@contextlib.contextmanager
def broker_down_counted():
    """`broker_down()`, counting each attempt to reach the broker (with the connect timeout
    it carried) and each pause kombu's retry loop takes between attempts. The pauses are
    recorded, not slept, so a regression fails on the count instead of slowing the suite."""
    cost = PublishCost()
    closed_port = urlsplit(CLOSED_BROKER).port
    real_connect = redis.connection.Connection._connect

    def connect(connection):
        if connection.port == closed_port:
            cost.connect_timeouts.append(connection.socket_connect_timeout)
        return real_connect(connection)

    with pytest.MonkeyPatch.context() as patch, broker_down():
        patch.setattr(redis.connection.Connection, "_connect", connect)
        patch.setattr(kombu.utils.functional, "sleep", cost.pauses.append)
        yield cost
