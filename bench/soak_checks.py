"""The drift checks the `soak` suite runs once the queues are drained (in its Django child
process). Each returns {check, source, ok, detail}.

The shop's own: the stock drift check (`orders.tasks.stock_drift_check_task`, hourly in
beat) run as beat runs it; the repairs that beat runs (`product_ratings_recompute_all_task`,
nightly) and that every variant change runs (`product_summary_refresh`), each run in a
transaction that is rolled back, so what they would change is the drift; and the backlogs
the beat sweepers pick up (callbacks not applied, confirmations and emails not sent, refunds
and voids not executed, cache version bumps not sent, returns not settled). Then the books
that join apps, which no single app can check: paid orders against captured payments and
their money events, shipments against order lines and statuses, and the stock the soak's
products lost against the units sold.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

STOCK = 1_000_000  # what the suite gave every product of its pool


class _Rollback(Exception):
    pass


def _result(check: str, source: str, problems: list[Any], detail: str) -> dict:
    shown = "; ".join(str(p) for p in problems[:3])
    return {
        "check": check,
        "source": source,
        "ok": not problems,
        "found": len(problems),
        "detail": detail if not problems else f"{len(problems)}: {shown}",
        "examples": [str(p) for p in problems[:10]],
    }


def stock_reservations() -> dict:
    from orders.selectors import stock_drift
    from orders.tasks import stock_drift_check_task

    found = stock_drift_check_task()  # what beat runs hourly: logs each row, returns the count
    rows = stock_drift() if found else []
    return _result(
        "stock: reserved = held by orders awaiting payment",
        "orders.tasks.stock_drift_check_task",
        rows or ([f"{found} variants"] if found else []),
        "every variant",
    )


def product_summaries() -> dict:
    from django.db import transaction

    from catalog.models import Product
    from catalog.services import product_summary_refresh

    ids = list(Product.objects.values_list("pk", flat=True))
    changed = 0
    try:
        with transaction.atomic():
            changed = product_summary_refresh(product_ids=ids)
            raise _Rollback
    except _Rollback:
        pass
    return _result(
        "product summaries (from price, in stock)",
        "catalog.services.product_summary_refresh (rolled back)",
        [f"{changed} products would change"] if changed else [],
        f"{len(ids)} products",
    )


def rating_figures() -> dict:
    from django.db import transaction

    from catalog.models import Product
    from reviews.services import product_rating_recompute

    fields = ("rating_avg", "rating_count", "rating_score", "rating_histogram")

    def figures() -> dict[int, tuple]:
        return {row[0]: row[1:] for row in Product.objects.values_list("pk", *fields)}

    before = figures()
    after: dict[int, tuple] = {}
    try:
        with transaction.atomic():
            product_rating_recompute()
            after = figures()
            raise _Rollback
    except _Rollback:
        pass

    def same(a: tuple, b: tuple) -> bool:
        # An empty histogram and one of zeros say the same.
        hist_a = {k: v for k, v in (a[3] or {}).items() if v}
        hist_b = {k: v for k, v in (b[3] or {}).items() if v}
        return a[:3] == b[:3] and hist_a == hist_b

    problems = [
        f"product {pk}: {before[pk]} → {after[pk]}"
        for pk in sorted(before)
        if pk in after and not same(before[pk], after[pk])
    ]
    reviewed = sum(1 for value in before.values() if value[1])
    return _result(
        "rating figures = published reviews",
        "reviews.tasks.product_ratings_recompute_all_task (rolled back)",
        problems,
        f"{len(before)} products, {reviewed} with reviews",
    )


def backlogs() -> list[dict]:
    """What the beat sweepers would pick up now: nothing, once the queues are drained."""
    from django.db.models import Q

    from fulfilment.models import Return
    from orders.models import Order
    from payments.models import Payment, Refund, WebhookEvent
    from shop.core.models import OutboxEmail, PendingMark, UnsentVersionBump

    events = list(
        WebhookEvent.objects.exclude(status=WebhookEvent.Status.PROCESSED)
        .order_by("pk")
        .values_list("handler", "event_id", "status", "last_error")
    )
    unsent_outbox = list(
        OutboxEmail.objects.filter(sent_at__isnull=True).values_list("key", "status", "attempts")
    )
    return [
        _result(
            "callbacks (payments and carriers) all applied",
            "payments.tasks.webhook_events_requeue_task's inbox",
            [f"{h} {e}: {s} {err[:80]}" for h, e, s, err in events],
            f"{WebhookEvent.objects.count()} stored, all processed",
        ),
        _result(
            "order confirmations sent",
            "orders.tasks.order_confirmations_requeue_task",
            list(
                Order.objects.filter(confirmation_sent_at__isnull=True).values_list(
                    "number", flat=True
                )
            ),
            f"{Order.objects.count()} orders",
        ),
        _result(
            "outbox emails sent",
            "shop.core.tasks.outbox_emails_requeue_task",
            unsent_outbox,
            f"{OutboxEmail.objects.count()} emails",
        ),
        _result(
            "refunds and voids executed",
            "payments.tasks.webhook_events_requeue_task (refunds_requeue, payment_voids_requeue)",
            list(
                Refund.objects.exclude(status__in=["succeeded", "failed"]).values_list(
                    "pk", "status"
                )
            )
            + list(
                Payment.objects.filter(
                    Q(void_requested_at__isnull=False) & Q(voided_at__isnull=True)
                ).values_list("pk", "status")
            ),
            f"{Refund.objects.count()} refunds",
        ),
        _result(
            "returns settled",
            "fulfilment.tasks.returns_settle_task",
            list(Return.objects.filter(status=Return.Status.RECEIVED).values_list("pk", flat=True)),
            f"{Return.objects.count()} returns",
        ),
        _result(
            "cache version bumps sent, coalescing marks cleared",
            "shop.core.pagecache (UnsentVersionBump), shop.core.marks",
            [f"bump {n}" for n in UnsentVersionBump.objects.values_list("name", flat=True)]
            + [f"mark {k}" for k in PendingMark.objects.values_list("key", flat=True)],
            "none left",
        ),
    ]


def payment_books() -> dict:
    """Every order the shoppers paid is paid, with one captured payment of its total and one
    capture money event of that amount; none is left awaiting payment."""
    from django.db.models import Count, Q, Sum

    from orders.models import PAID_STATUSES, Order
    from payments.models import MoneyEvent, Payment, PaymentStatus

    problems: list[str] = []
    orders = Order.objects.annotate(
        captured=Count("payments", filter=Q(payments__status=PaymentStatus.CAPTURED))
    )
    paid_statuses = {*PAID_STATUSES, Order.Status.DELIVERED}
    for order in orders.order_by("pk"):
        if order.status not in paid_statuses:
            problems.append(f"order {order.number} is {order.status}")
        elif order.captured != 1 or order.payment_status != Order.PaymentStatus.PAID:
            problems.append(
                f"order {order.number}: {order.captured} captured payments, "
                f"payment status {order.payment_status}"
            )
    captured = Payment.objects.filter(status=PaymentStatus.CAPTURED).select_related("order")
    events = dict(
        MoneyEvent.objects.filter(kind=MoneyEvent.Kind.CAPTURE)
        .values("payment_id")
        .annotate(total=Sum("amount"), n=Count("pk"))
        .values_list("payment_id", "total")
    )
    for payment in captured:
        if payment.amount != payment.order.total_amount:
            problems.append(
                f"payment {payment.pk}: {payment.amount} for {payment.order.total_amount}"
            )
        if events.get(payment.pk, Decimal("0")) != payment.amount:
            problems.append(f"payment {payment.pk}: captured {events.get(payment.pk)} recorded")
    return _result(
        "payments: paid orders = captured payments = capture events",
        "this suite (orders and payments)",
        problems,
        f"{orders.count()} orders, {captured.count()} captured payments",
    )


def shipment_books() -> dict:
    """Shipped quantities are the shipments' lines; an order is shipped when every line is,
    partly shipped when some are, and delivered when it is shipped and every parcel is."""
    from django.db.models import Sum

    from fulfilment.models import Shipment, ShipmentLine, ShipmentStatus
    from orders.models import Order, OrderLine

    shipped = dict(
        ShipmentLine.objects.values("order_line_id")
        .annotate(n=Sum("quantity"))
        .values_list("order_line_id", "n")
    )
    problems: list[str] = []
    lines_by_order: dict[int, list[OrderLine]] = {}
    for line in OrderLine.objects.order_by("pk"):
        lines_by_order.setdefault(line.order_id, []).append(line)
        if line.shipped_quantity != shipped.get(line.pk, 0):
            problems.append(
                f"line {line.pk}: shipped_quantity {line.shipped_quantity}, "
                f"shipments hold {shipped.get(line.pk, 0)}"
            )
    undelivered = set(
        Shipment.objects.exclude(status=ShipmentStatus.DELIVERED).values_list("order_id", flat=True)
    )
    has_shipments = set(Shipment.objects.values_list("order_id", flat=True))
    for order in Order.objects.order_by("pk"):
        lines = lines_by_order.get(order.pk, [])
        done = all(
            line.quantity == line.shipped_quantity + line.cancelled_quantity for line in lines
        )
        some = any(line.shipped_quantity for line in lines)
        if done and some:
            wanted = (
                Order.Status.DELIVERED
                if order.pk in has_shipments and order.pk not in undelivered
                else Order.Status.SHIPPED
            )
        elif some:
            wanted = Order.Status.PARTIALLY_SHIPPED
        else:
            wanted = Order.Status.PAID
        if order.status in (Order.Status.PENDING_PAYMENT, Order.Status.CANCELLED):
            continue  # the payment books report these
        if order.status != wanted:
            problems.append(f"order {order.number} is {order.status}, its shipments say {wanted}")
    return _result(
        "shipments: order lines and statuses = shipments",
        "this suite (orders and fulfilment)",
        problems,
        f"{Shipment.objects.count()} shipments",
    )


def stock_sold() -> dict:
    """The soak's products lost exactly the units paid orders hold (it gave each STOCK)."""
    from django.db.models import Sum

    from catalog.models import Variant
    from orders.models import PAID_STATUSES, Order, OrderLine

    sold = dict(
        OrderLine.objects.filter(order__status__in=[*PAID_STATUSES, Order.Status.DELIVERED])
        .values("variant_id")
        .annotate(n=Sum("quantity"))
        .values_list("variant_id", "n")
    )
    pool = Variant.objects.filter(stock__gt=STOCK // 2)  # the pool: untouched ones hold less
    problems = [
        f"variant {pk}: {STOCK - stock} units gone, {sold.get(pk, 0)} sold"
        for pk, stock in pool.values_list("pk", "stock")
        if STOCK - stock != sold.get(pk, 0)
    ]
    missing = set(sold) - set(pool.values_list("pk", flat=True))
    problems += [f"variant {pk}: sold but not in the pool" for pk in sorted(missing)]
    return _result(
        "stock: units gone = units sold",
        "this suite (catalog and orders)",
        problems,
        f"{sum(sold.values())} units sold over {len(sold)} variants",
    )


def run_all() -> list[dict]:
    return [
        stock_reservations(),
        product_summaries(),
        rating_figures(),
        *backlogs(),
        payment_books(),
        shipment_books(),
        stock_sold(),
    ]
