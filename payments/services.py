"""Payments: starting one, taking provider callbacks in, applying them, refunding.

Lock order, shared with the orders services: order, then payment, then variants. Calls to
providers happen outside database transactions: a pending row with an idempotency key is
committed first, the provider is called, and the answer is recorded in a new transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import Order
from payments import transitions
from payments.errors import (
    EventNotReady,
    PaymentNotAllowed,
    ProviderError,
    RefundNotAllowed,
)
from payments.models import MoneyEvent, Payment, PaymentStatus, Refund, WebhookEvent
from payments.providers import provider_get
from shop.core.errors import PaymentFailed
from shop.core.money import Money
from shop.core.tasks import enqueue

logger = logging.getLogger(__name__)

EVENT_SUCCEEDED = "payment_intent.succeeded"
EVENT_FAILED = "payment_intent.payment_failed"
EVENT_REFUNDED = "charge.refunded"
KNOWN_EVENTS = {EVENT_SUCCEEDED, EVENT_FAILED, EVENT_REFUNDED}


@dataclass(frozen=True)
class PaymentTotals:
    captured: Decimal
    refunded: Decimal

    @property
    def refundable(self) -> Decimal:
        return self.captured - self.refunded


def payment_totals(*, payment: Payment) -> PaymentTotals:
    """Captured and refunded amounts, derived from the append-only money events."""
    sums = {
        row["kind"]: row["total"]
        for row in payment.money_events.values("kind").annotate(total=Sum("amount"))
    }
    return PaymentTotals(
        captured=sums.get(MoneyEvent.Kind.CAPTURE, Decimal("0.00")),
        refunded=sums.get(MoneyEvent.Kind.REFUND, Decimal("0.00")),
    )


# --- Starting a payment -----------------------------------------------------------------


def payment_start(*, order: Order, provider_name: str) -> Payment:
    """Open a payment for an order awaiting payment and hand it to the provider."""
    provider = provider_get(provider_name)
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.status != Order.Status.PENDING_PAYMENT:
            raise PaymentNotAllowed(
                _("Order %(number)s is %(status)s and cannot be paid.")
                % {"number": order.number, "status": order.get_status_display()}
            )
        payment = Payment.objects.create(
            order=order,
            provider=provider.name,
            amount=order.total_amount,
            currency=order.currency,
        )
    # Outside the transaction: the row exists whatever happens at the provider, and its id
    # is the idempotency key of every retry of this call.
    try:
        created = provider.create_payment(payment=payment)
    except ProviderError as exc:
        with transaction.atomic():
            payment = Payment.objects.select_for_update().get(pk=payment.pk)
            transitions.transition(payment, to=PaymentStatus.FAILED)
            payment.failure_reason = str(exc)[:255]
            payment.save(update_fields=["status", "failure_reason", "updated_at"])
        raise PaymentFailed(_("The payment provider could not be reached. Try again.")) from exc
    payment.provider_reference = created.reference
    payment.client_secret = created.client_secret
    payment.redirect_url = created.redirect_path
    payment.save(
        update_fields=["provider_reference", "client_secret", "redirect_url", "updated_at"]
    )
    return payment


# --- Webhook intake ---------------------------------------------------------------------


def webhook_receive(*, provider_name: str, payload: bytes, signature: str) -> WebhookEvent:
    """Verify and store a provider callback; the apply task is queued once it is stored.

    A duplicate event id changes nothing. If the broker is down the event is still stored
    (and the caller still answers 200): the sweeper queues it when the broker is back."""
    provider = provider_get(provider_name)
    event = provider.verify_callback(payload=payload, signature=signature or "")
    try:
        with transaction.atomic():
            stored = WebhookEvent.objects.create(
                provider=provider.name,
                event_id=event["id"],
                type=str(event.get("type", ""))[:100],
                payload=event,
            )
            transaction.on_commit(lambda: webhook_event_enqueue(event_pk=stored.pk))
    except IntegrityError:
        return WebhookEvent.objects.get(provider=provider.name, event_id=event["id"])
    return stored


def webhook_event_enqueue(*, event_pk: int) -> bool:
    """Queue an event for the worker; False (logged) when the broker cannot take it: the
    event is stored, and the sweeper (webhook_events_requeue) queues it later."""
    from payments.tasks import webhook_event_apply_task

    return enqueue(webhook_event_apply_task, event_pk=event_pk)


def webhook_events_requeue(*, older_than_seconds: int = 30, limit: int = 500) -> int:
    """Queue again stored events that are not applied yet (a broker outage, a lost task)."""
    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
    pks = list(
        WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED, received_at__lt=cutoff)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(webhook_event_enqueue(event_pk=pk) for pk in pks)


# --- Applying an event ------------------------------------------------------------------


class _Flag(Exception):
    """A verified event we cannot use: stored, answered 200, flagged for staff."""


def _event_payment(event: WebhookEvent) -> tuple[dict, Payment]:
    data = event.payload.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        raise _Flag("event has no data.object")
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    payment_id = str(metadata.get("payment_id", ""))
    # A PaymentIntent is named by its id; a Charge (charge.* events at Stripe) names its
    # PaymentIntent in `payment_intent`.
    references = {str(obj.get(key)) for key in ("id", "payment_intent") if obj.get(key)}
    query = Payment.objects.filter(provider=event.provider)
    if payment_id.isdigit() and len(payment_id) <= 18:  # fits a bigint
        payment = query.filter(pk=int(payment_id)).first()
    else:
        payment = query.filter(provider_reference__in=references).first()
    if payment is None:
        raise _Flag("no payment matches this event")
    if payment.provider_reference and payment.provider_reference not in references:
        raise _Flag("the event's object id is not this payment's provider reference")
    return obj, payment


def _event_money(obj: dict, key: str) -> Money:
    amount, currency = obj.get(key), obj.get("currency")
    if not isinstance(amount, int) or isinstance(amount, bool) or not isinstance(currency, str):
        raise _Flag(f"event has no usable {key}/currency")
    try:
        return Money.from_minor_units(amount, currency)
    except ValueError as exc:  # not a currency code
        raise _Flag(f"event has no usable {key}/currency: {exc}") from exc


def webhook_event_apply(*, event_pk: int) -> str:
    """Apply a stored event once; returns the event's resulting status.

    Raises EventNotReady when the event came before the state it needs (it stays
    `received` and is retried)."""
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=event_pk)
        if event.status != WebhookEvent.Status.RECEIVED:
            return event.status  # applied (or flagged) before: a redelivered task
        event.attempts += 1
        try:
            if event.type not in KNOWN_EVENTS:
                raise _Flag(f"unknown event type {event.type!r}")
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
        except _Flag as flag:
            event.status = WebhookEvent.Status.FLAGGED
            event.last_error = str(flag)
            logger.warning("webhook event %s flagged: %s", event.event_id, flag)
        else:
            event.status = WebhookEvent.Status.PROCESSED
            event.last_error = ""
        event.processed_at = timezone.now()
        event.save()
        return event.status


def _apply_succeeded(event: WebhookEvent, obj: dict, payment: Payment, order: Order) -> None:
    received = _event_money(obj, "amount")
    expected = Money(payment.amount, payment.currency)
    if received != expected.quantize():
        raise _Flag(f"amount mismatch: received {received}, expected {expected}")
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
    from orders.services import order_payment_captured

    order_payment_captured(order=order, payment=payment)


def _apply_failed(obj: dict, payment: Payment) -> None:
    if payment.status not in (PaymentStatus.PENDING, PaymentStatus.AUTHORIZED):
        return  # a failure reported after success (out of order) changes nothing
    transitions.transition(payment, to=PaymentStatus.FAILED)
    error = obj.get("last_payment_error")
    payment.failure_reason = str(error.get("message", ""))[:255] if isinstance(error, dict) else ""
    payment.save()


def _apply_refunded(event: WebhookEvent, obj: dict, payment: Payment, order: Order) -> None:
    if payment.status in (PaymentStatus.PENDING, PaymentStatus.AUTHORIZED):
        raise EventNotReady(f"refund for payment {payment.pk} before its capture")
    if payment.status == PaymentStatus.FAILED:
        raise _Flag("refund reported for a failed payment")
    pending = list(
        payment.refunds.select_for_update().filter(status=Refund.Status.PENDING).order_by("pk")
    )
    if any(not refund.provider_reference for refund in pending):
        # Our own refund call is still in flight; its figures come first.
        raise EventNotReady(f"refund of payment {payment.pk} still pending here")
    refunded_at_provider = _event_money(obj, "amount_refunded")
    if refunded_at_provider.currency != payment.currency:
        raise _Flag("refund currency does not match the payment")
    totals = payment_totals(payment=payment)
    if refunded_at_provider.amount > totals.captured:
        raise _Flag("refunded more than was captured")
    missing = refunded_at_provider.amount - totals.refunded
    # Refunds the provider accepted as pending: done as far as its running total covers
    # them, booked under their own key (so a late refund_execute cannot book them again).
    for refund in pending:
        if refund.amount > missing:
            break
        refund.status = Refund.Status.SUCCEEDED
        refund.save(update_fields=["status", "updated_at"])
        _record_refund(
            payment=payment,
            order=order,
            amount=refund.amount,
            source=f"refund:{refund.idempotency_key}",
        )
        missing -= refund.amount
    if missing <= 0:
        return  # we recorded these refunds already (our own refund calls)
    # Made at the provider, not by us (its dashboard): booked as it says.
    _record_refund(payment=payment, order=order, amount=missing, source=event.event_id)


def _record_refund(*, payment: Payment, order: Order, amount: Decimal, source: str) -> None:
    """Book a refund on locked payment and order rows and move both accordingly."""
    MoneyEvent.objects.create(
        payment=payment,
        kind=MoneyEvent.Kind.REFUND,
        amount=amount,
        currency=payment.currency,
        source=source,
    )
    totals = payment_totals(payment=payment)
    fully = totals.refunded >= totals.captured
    transitions.transition(
        payment, to=PaymentStatus.REFUNDED if fully else PaymentStatus.PARTIALLY_REFUNDED
    )
    payment.save()
    # The order's state follows the money it still holds over all its payments: refunding
    # a surplus payment (a second one, or one that came late) leaves a paid order paid.
    held = _order_net_captured(order)
    if held >= order.total_amount:
        return
    from orders.services import order_payment_refunded

    order_payment_refunded(order=order, fully=held <= 0)


def _order_net_captured(order: Order) -> Decimal:
    sums = {
        row["kind"]: row["total"]
        for row in MoneyEvent.objects.filter(payment__order=order)
        .values("kind")
        .annotate(total=Sum("amount"))
    }
    return sums.get(MoneyEvent.Kind.CAPTURE, Decimal("0")) - sums.get(
        MoneyEvent.Kind.REFUND, Decimal("0")
    )


# --- Refunds ----------------------------------------------------------------------------


def refund_request(
    *, payment: Payment, amount: Decimal, key: str, reason: str = "", by=None
) -> Refund:
    """Record a pending refund (in the caller's transaction, payment locked by the caller);
    the provider is called by a task once this commits. The same key never refunds twice."""
    existing = Refund.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    totals = payment_totals(payment=payment)
    pending = _pending_refunds(payment)
    if amount <= 0 or amount > totals.refundable - pending:
        raise RefundNotAllowed(
            _("At most %(amount)s can be refunded on this payment.")
            % {"amount": Money(max(totals.refundable - pending, Decimal("0")), payment.currency)}
        )
    refund = Refund.objects.create(
        payment=payment,
        amount=amount,
        currency=payment.currency,
        reason=reason[:255],
        idempotency_key=key,
        created_by=by,
    )
    transaction.on_commit(lambda: refund_enqueue(refund_pk=refund.pk))
    return refund


def refund_enqueue(*, refund_pk: int) -> bool:
    """Queue a refund's provider call; False (logged) when the broker cannot take it.

    Runs after the caller's commit: a broker outage must not turn a cancelled order into
    an error page. The sweeper (refunds_requeue) queues it once the broker is back."""
    from payments.tasks import refund_execute_task

    return enqueue(refund_execute_task, refund_id=refund_pk)


def refunds_requeue(*, older_than_seconds: int = 60, limit: int = 500) -> int:
    """Queue again pending refunds whose provider call never happened (a broker outage,
    a lost task). Refunds the provider answered (they have its reference) are settled by
    its callback instead."""
    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
    pks = list(
        Refund.objects.filter(
            status=Refund.Status.PENDING, provider_reference="", created_at__lt=cutoff
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(refund_enqueue(refund_pk=pk) for pk in pks)


def refund_execute(*, refund_id: int) -> Refund:
    """Call the provider for a pending refund and book the result (idempotent)."""
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.status != Refund.Status.PENDING:
        return refund
    provider = provider_get(refund.payment.provider)
    created = provider.refund(payment=refund.payment, refund=refund)  # ProviderError: retried
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=refund.payment.order_id)
        payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if refund.status != Refund.Status.PENDING:
            return refund
        refund.provider_reference = created.reference
        if created.succeeded:
            refund.status = Refund.Status.SUCCEEDED
            _record_refund(
                payment=payment,
                order=order,
                amount=refund.amount,
                source=f"refund:{refund.idempotency_key}",
            )
        refund.save()
    return refund


def payments_refund_in_full(*, order: Order, key: str, by=None, reason: str = "") -> list[Refund]:
    """Refund everything still refundable on a locked order's payments (order cancelled)."""
    refunds = []
    for payment in Payment.objects.select_for_update().filter(order=order).order_by("pk"):
        refundable = payment_totals(payment=payment).refundable - _pending_refunds(payment)
        if refundable > 0:
            refunds.append(
                refund_request(
                    payment=payment,
                    amount=refundable,
                    key=f"{key}-{payment.pk}",
                    reason=reason,
                    by=by,
                )
            )
    return refunds


def _pending_refunds(payment: Payment) -> Decimal:
    return payment.refunds.filter(status=Refund.Status.PENDING).aggregate(s=Sum("amount"))[
        "s"
    ] or Decimal("0.00")


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


def sandbox_event_build(*, payment: Payment, succeeded: bool) -> dict:
    """The Stripe-shaped event the sandbox sends when its shopper clicks Pay or Decline."""
    import secrets

    amount = Money(payment.amount, payment.currency).to_minor_units()
    obj = {
        "id": payment.provider_reference,
        "object": "payment_intent",
        "amount": amount,
        "amount_received": amount if succeeded else 0,
        "currency": payment.currency.lower(),
        "status": "succeeded" if succeeded else "requires_payment_method",
        "metadata": {"order_number": payment.order.number, "payment_id": str(payment.pk)},
    }
    if not succeeded:
        obj["last_payment_error"] = {"message": "The sandbox shopper declined."}
    return {
        "id": f"evt_sbx_{secrets.token_hex(12)}",
        "object": "event",
        "type": EVENT_SUCCEEDED if succeeded else EVENT_FAILED,
        "created": int(timezone.now().timestamp()),
        "data": {"object": obj},
    }
