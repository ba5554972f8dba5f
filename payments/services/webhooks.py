"""Provider callbacks: verified and stored durably first (the inbox), applied by a worker.

Intake answers as soon as the event is stored; the apply task is queued after commit and
a sweeper queues again whatever a broker outage left behind, so no event is lost. Applying
is idempotent: an event is applied once, and a payment never moves twice for one cause."""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from orders.models import Order
from orders.services import order_payment_captured
from payments import transitions
from payments.errors import EventNotReady
from payments.metrics import PAYMENTS_CAPTURED
from payments.models import (
    PAYMENT_EVENT_HANDLER,
    MoneyEvent,
    Payment,
    PaymentStatus,
    Refund,
    WebhookEvent,
)
from payments.providers import provider_get
from payments.providers.base import EVENT_FAILED, EVENT_SUCCEEDED, KNOWN_EVENTS
from payments.selectors import payment_totals
from payments.services.refunds import refund_book, refund_request
from shop.core.jsonsafe import JSONNotStorable, jsonb_storable
from shop.core.money import Money
from shop.core.tasks import enqueue_named

logger = logging.getLogger(__name__)


# --- Intake -----------------------------------------------------------------------------


# Where intake keeps the body as it came when the stored payload had to differ from it.
ORIGINAL_BODY_KEY = "bazaar_original_body_base64"
_EVENT_ID_LENGTH = 255  # WebhookEvent.event_id


def webhook_receive(*, provider_name: str, payload: bytes, signature: str) -> WebhookEvent:
    """Verify and store a provider callback; the apply task is queued once it is stored.

    A duplicate event id changes nothing. If the broker is down the event is still stored
    (and the caller still answers 200): the sweeper queues it when the broker is back."""
    provider = provider_get(provider_name)
    event = provider.verify_callback(payload=payload, signature=signature or "")
    return inbox_store(
        source=provider.name, event=event, raw_body=payload, handler=PAYMENT_EVENT_HANDLER
    )


def inbox_store(
    *, source: str, event: dict[str, Any], raw_body: bytes, handler: str
) -> WebhookEvent:
    """Store a verified callback in the inbox, once per (source, event id), and queue its
    `handler` task after commit. The shop's one inbox: payment providers' events and
    carriers' tracking events come in here, each naming the task that applies it.

    A verified event holding what jsonb refuses (`\\u0000`, a lone surrogate, NaN) is stored
    all the same, rather than refused and retried by its sender for ever: those strings
    are kept with the characters written out as escapes, and the body as it came is kept
    beside them under ORIGINAL_BODY_KEY (base64). Applying then reads the stored event as
    usual; an event whose ids no longer match anything is flagged for staff. One nested
    deeper than any real event is kept as its id, type and body, and flagged."""
    try:
        stored_event, rewritten = jsonb_storable(event)
    except JSONNotStorable:
        # Nested past any real event: kept as its id, type and body, and flagged on apply
        # (it has no data.object), rather than refused and sent again for ever.
        stored_event, rewritten = jsonb_storable({"id": event["id"], "type": event.get("type")})
        rewritten = True
    if rewritten:
        logger.warning(
            "webhook event from %s holds what PostgreSQL cannot store as sent; stored escaped",
            source,
        )
        stored_event[ORIGINAL_BODY_KEY] = base64.b64encode(raw_body).decode("ascii")
    event_id = _storable_event_id(str(stored_event["id"]))
    # A payment event's type is `type`; a carrier's tracking event says its `status`.
    kind = stored_event.get("type", stored_event.get("status", ""))
    try:
        with transaction.atomic():
            stored = WebhookEvent.objects.create(
                provider=source[:50],
                handler=handler,
                event_id=event_id,
                type=str(kind)[:100],
                payload=stored_event,
            )
            transaction.on_commit(
                lambda: webhook_event_enqueue(event_pk=stored.pk, handler=handler)
            )
    except IntegrityError:
        return WebhookEvent.objects.get(provider=source[:50], event_id=event_id)
    return stored


def _storable_event_id(event_id: str) -> str:
    """The id as stored: one that grew past the column when escaped keeps its start and a
    digest of the whole, so a redelivery still finds it (ids are checked to fit as sent)."""
    if len(event_id) <= _EVENT_ID_LENGTH:
        return event_id
    digest = hashlib.sha256(event_id.encode()).hexdigest()
    return f"{event_id[: _EVENT_ID_LENGTH - len(digest) - 1]}~{digest}"


def webhook_event_enqueue(*, event_pk: int, handler: str | None = None) -> bool:
    """Queue an event's handler task; False (logged) when the broker cannot take it: the
    event is stored, and the sweeper (webhook_events_requeue) queues it later."""
    if handler is None:
        handler = WebhookEvent.objects.values_list("handler", flat=True).get(pk=event_pk)
    return enqueue_named(handler, event_pk=event_pk)


def webhook_events_requeue(*, older_than_seconds: int = 30, limit: int = 500) -> int:
    """Queue again stored events that are not applied yet (a broker outage, a lost task),
    each to its own handler."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    rows = list(
        WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED, received_at__lt=cutoff)
        .order_by("received_at")
        .values_list("pk", "handler")[:limit]
    )
    return sum(enqueue_named(handler, event_pk=pk) for pk, handler in rows)


def webhook_event_mark_failed(*, event_pk: int, error: str) -> None:
    """An event that kept failing: visible in admin, where staff can re-apply it."""
    WebhookEvent.objects.filter(pk=event_pk, status=WebhookEvent.Status.RECEIVED).update(
        status=WebhookEvent.Status.FAILED, last_error=error[:2000]
    )


def webhook_event_reapply(*, event_pk: int) -> bool:
    """Put a failed or flagged event back in the queue (admin action)."""
    updated = WebhookEvent.objects.filter(
        pk=event_pk, status__in=[WebhookEvent.Status.FAILED, WebhookEvent.Status.FLAGGED]
    ).update(status=WebhookEvent.Status.RECEIVED, processed_at=None)
    if updated:
        transaction.on_commit(lambda: webhook_event_enqueue(event_pk=event_pk))
    return bool(updated)


# --- Applying an event ------------------------------------------------------------------


class EventFlagged(Exception):
    """A verified event we cannot use: stored, answered 200, flagged for staff (raised by
    an apply function, with the reason)."""


def inbox_event_apply(*, event_pk: int, apply: Callable[[WebhookEvent], None]) -> str:
    """Apply a stored event once with `apply` (which may set fields on the event, raise
    EventFlagged, or raise to be retried); returns the event's resulting status. The event
    row is locked for the whole application, so a redelivered task waits, then finds it
    done. The one way every handler (payments', carriers') applies inbox events."""
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=event_pk)
        if event.status != WebhookEvent.Status.RECEIVED:
            return event.status  # applied (or flagged) before: a redelivered task
        event.attempts += 1
        try:
            apply(event)
        except EventFlagged as flag:
            event.status = WebhookEvent.Status.FLAGGED
            event.last_error = str(flag)
            logger.warning("webhook event %s flagged: %s", event.event_id, flag)
        else:
            event.status = WebhookEvent.Status.PROCESSED
            event.last_error = ""
        event.processed_at = timezone.now()
        event.save()
        return event.status


def _event_payment(event: WebhookEvent) -> tuple[dict[str, Any], Payment]:
    data = event.payload.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        raise EventFlagged("event has no data.object")
    raw_metadata = obj.get("metadata")
    metadata: dict[str, Any] = raw_metadata if isinstance(raw_metadata, dict) else {}
    payment_id = str(metadata.get("payment_id", ""))
    # A PaymentIntent is named by its id; a Charge (charge.* events at Stripe) names its
    # PaymentIntent in `payment_intent`.
    references = {str(obj.get(key)) for key in ("id", "payment_intent") if obj.get(key)}
    query = Payment.objects.filter(provider=event.provider)
    if payment_id.isascii() and payment_id.isdigit() and len(payment_id) <= 18:  # a bigint
        payment = query.filter(pk=int(payment_id)).first()
    else:
        payment = query.filter(provider_reference__in=references).first()
    if payment is None:
        raise EventFlagged("no payment matches this event")
    if payment.provider_reference and payment.provider_reference not in references:
        raise EventFlagged("the event's object id is not this payment's provider reference")
    return obj, payment


def _event_money(obj: dict[str, Any], key: str) -> Money:
    amount, currency = obj.get(key), obj.get("currency")
    if not isinstance(amount, int) or isinstance(amount, bool) or not isinstance(currency, str):
        raise EventFlagged(f"event has no usable {key}/currency")
    try:
        return Money.from_minor_units(amount, currency)
    except ValueError as exc:  # not a currency code
        raise EventFlagged(f"event has no usable {key}/currency: {exc}") from exc


def webhook_event_apply(*, event_pk: int) -> str:
    """Apply a stored payment provider event once; returns the event's resulting status.

    Raises EventNotReady when the event came before the state it needs (it stays
    `received` and is retried)."""
    return inbox_event_apply(event_pk=event_pk, apply=_apply_payment_event)


def _apply_payment_event(event: WebhookEvent) -> None:
    if event.type not in KNOWN_EVENTS:
        raise EventFlagged(f"unknown event type {event.type!r}")
    obj, payment = _event_payment(event)
    event.payment = payment
    # Lock order: the order, then the payment.
    order = Order.objects.select_for_update().get(pk=payment.order_id)
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if event.type == EVENT_SUCCEEDED:
        _apply_succeeded(event, obj, payment, order)
    elif event.type == EVENT_FAILED:
        _apply_failed(obj, payment)
    else:
        _apply_refunded(event, obj, payment, order)


def _apply_succeeded(
    event: WebhookEvent, obj: dict[str, Any], payment: Payment, order: Order
) -> None:
    received = _event_money(obj, "amount")
    expected = Money(payment.amount, payment.currency)
    if received != expected.quantize():
        raise EventFlagged(f"amount mismatch: received {received}, expected {expected}")
    if payment.status in (
        PaymentStatus.CAPTURED,
        PaymentStatus.PARTIALLY_REFUNDED,
        PaymentStatus.REFUNDED,
    ):
        return  # captured already (an earlier event with another id): nothing moves twice
    transitions.transition(payment, to=PaymentStatus.CAPTURED)
    if not payment.provider_reference:
        payment.provider_reference = str(obj.get("id", ""))
    payment.save()
    MoneyEvent.objects.create(
        payment=payment,
        kind=MoneyEvent.Kind.CAPTURE,
        amount=payment.amount,
        currency=payment.currency,
        source=event.event_id,
    )
    transaction.on_commit(PAYMENTS_CAPTURED.labels(provider=payment.provider).inc)
    # Orders decides what the money means for the order; money it cannot use goes back.
    verdict = order_payment_captured(order=order, payment_id=payment.pk)
    if not verdict.keep:
        refund_request(
            payment=payment,
            amount=payment.amount,
            key=f"unneeded-payment-{payment.pk}",
            reason=verdict.refund_reason,
        )


def _apply_failed(obj: dict[str, Any], payment: Payment) -> None:
    if payment.status not in (PaymentStatus.PENDING, PaymentStatus.AUTHORIZED):
        return  # a failure reported after success (out of order) changes nothing
    transitions.transition(payment, to=PaymentStatus.FAILED)
    error = obj.get("last_payment_error")
    payment.failure_reason = str(error.get("message", ""))[:255] if isinstance(error, dict) else ""
    payment.save()


def _apply_refunded(
    event: WebhookEvent, obj: dict[str, Any], payment: Payment, order: Order
) -> None:
    if payment.status in (PaymentStatus.PENDING, PaymentStatus.AUTHORIZED):
        raise EventNotReady(f"refund for payment {payment.pk} before its capture")
    if payment.status == PaymentStatus.FAILED:
        raise EventFlagged("refund reported for a failed payment")
    pending = list(
        payment.refunds.select_for_update().filter(status=Refund.Status.PENDING).order_by("pk")
    )
    if any(not refund.provider_reference for refund in pending):
        # Our own refund call is still in flight; its figures come first.
        raise EventNotReady(f"refund of payment {payment.pk} still pending here")
    refunded_at_provider = _event_money(obj, "amount_refunded")
    if refunded_at_provider.currency != payment.currency:
        raise EventFlagged("refund currency does not match the payment")
    totals = payment_totals(payment=payment)
    if refunded_at_provider.amount > totals.captured:
        raise EventFlagged("refunded more than was captured")
    missing = refunded_at_provider.amount - totals.refunded
    # Refunds the provider accepted as pending: done as far as its running total covers
    # them, booked under their own key (so a late refund_execute cannot book them again).
    for refund in pending:
        if refund.amount > missing:
            break
        refund.status = Refund.Status.SUCCEEDED
        refund.save(update_fields=["status", "updated_at"])
        refund_book(
            payment=payment,
            order=order,
            amount=refund.amount,
            source=f"refund:{refund.idempotency_key}",
        )
        missing -= refund.amount
    if missing <= 0:
        return  # we recorded these refunds already (our own refund calls)
    # Made at the provider, not by us (its dashboard): booked as it says.
    refund_book(payment=payment, order=order, amount=missing, source=event.event_id)
