"""Reads of payments for the order page, the API and the admin: captured and refunded
amounts are derived from the append-only money events in the same query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, TypedDict

from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from orders.models import Order
from payments.models import MoneyEvent, Payment, Refund, WebhookEvent

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    from accounts.models import User

_ZERO = Value(Decimal("0.00"), output_field=DecimalField(max_digits=12, decimal_places=2))


def _money_sum(kind: str) -> Coalesce:
    return Coalesce(Sum("money_events__amount", filter=Q(money_events__kind=kind)), _ZERO)


class PaymentTotalsAnnotations(TypedDict):
    captured_amount: Decimal
    refunded_amount: Decimal


if TYPE_CHECKING:
    PaymentWithTotals = WithAnnotations[Payment, PaymentTotalsAnnotations]


def payment_list_with_totals() -> QuerySet[PaymentWithTotals]:
    """Payments annotated with `captured_amount` and `refunded_amount` (one query)."""
    # One join only (money events): two Sums over it cannot multiply each other's rows.
    return Payment.objects.annotate(
        captured_amount=_money_sum(MoneyEvent.Kind.CAPTURE),
        refunded_amount=_money_sum(MoneyEvent.Kind.REFUND),
    )


def payment_list_for_order(*, order: Order) -> QuerySet[PaymentWithTotals]:
    """An order's payments, oldest first, with their derived totals."""
    return payment_list_with_totals().filter(order=order).order_by("created_at", "id")


@dataclass(frozen=True)
class PaymentTotals:
    captured: Decimal
    refunded: Decimal


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


def payment_refundable_amount(*, payment: Payment) -> Decimal:
    """What a new refund may still take: captured, less refunded, less refunds in flight.

    The one definition the refund services (under the payment's lock) and the admin's
    refund form use."""
    totals = payment_totals(payment=payment)
    pending = payment.refunds.filter(status=Refund.Status.PENDING).aggregate(total=Sum("amount"))[
        "total"
    ] or Decimal("0.00")
    return max(totals.captured - totals.refunded - pending, Decimal("0.00"))


def order_net_captured(*, order: Order) -> Decimal:
    """The money an order holds over all its payments: captured less refunded."""
    sums = {
        row["kind"]: row["total"]
        for row in MoneyEvent.objects.filter(payment__order=order)
        .values("kind")
        .annotate(total=Sum("amount"))
    }
    return sums.get(MoneyEvent.Kind.CAPTURE, Decimal("0")) - sums.get(
        MoneyEvent.Kind.REFUND, Decimal("0")
    )


def payment_order_get_for_customer(*, user: User, number: str) -> Order:
    """The user's order to pay or list payments of; another user's raises DoesNotExist.

    Lines are not loaded: paying needs only the order row."""
    return Order.objects.for_customer(user).get(number=number)


# How carriers' tracking callbacks are stored in the one inbox (`carrier:<slug>`, models.py).
CARRIER_PROVIDER_PREFIX = "carrier:"


def webhook_inbox_backlog() -> dict[str, tuple[int, datetime | None]]:
    """Per inbox (`payments`: providers' events, `carriers`: tracking callbacks), how many
    stored events wait to be applied and when the oldest was received. One query, on the
    partial index of unapplied events."""
    inbox = Case(
        When(provider__startswith=CARRIER_PROVIDER_PREFIX, then=Value("carriers")),
        default=Value("payments"),
        output_field=CharField(),
    )
    rows = (
        WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED)
        .annotate(inbox=inbox)
        .values("inbox")
        .annotate(count=Count("id"), oldest=Min("received_at"))
        .order_by()
    )
    backlog: dict[str, tuple[int, datetime | None]] = {"payments": (0, None), "carriers": (0, None)}
    for row in rows:
        backlog[row["inbox"]] = (row["count"], row["oldest"])
    return backlog
