"""Placing, cancelling and expiring orders."""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import models, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from cart.services import cart_empty, cart_lines_lock_for_checkout
from catalog.stock import (
    stock_commit,
    stock_release,
    stock_reserve,
    stock_restock,
    stock_sell_if_available,
)
from orders import transitions
from orders.errors import CurrencyMismatch, EmptyCart
from orders.metrics import ORDERS_PLACED
from orders.models import Order, OrderEvent, OrderLine
from orders.notifications import order_paid_notify_merchants
from orders.selectors import order_lines_for_merchant_staff
from shipping.models import ShippingMethod
from shipping.selectors import shipping_method_get_for_country
from shop.core.countries import normalize_country, validate_country
from shop.core.tasks import enqueue, enqueue_on_commit

if TYPE_CHECKING:
    from accounts.models import Address, User

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ShippingAddress:
    full_name: str
    line1: str
    city: str
    postal_code: str
    country: str
    line2: str = ""
    phone: str = ""

    @classmethod
    def from_address(cls, address: Address) -> ShippingAddress:
        """A snapshot of an address book entry (`accounts.Address`)."""
        return cls(
            full_name=address.full_name,
            line1=address.line1,
            line2=address.line2,
            city=address.city,
            postal_code=address.postal_code,
            country=address.country,
            phone=address.phone,
        )

    def as_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)

    def validated(self) -> ShippingAddress:
        """The address with its country normalised, or a ValidationError naming fields.

        The order's columns set the limits; checked here so a bad address is a 400, not a
        database error, without a full_clean on the hot path."""
        errors: dict[str, list[str]] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            limit = _column_limit(f"ship_{field.name}")
            if not isinstance(value, str):
                errors[field.name] = [_("Enter text.")]
            elif field.default is dataclasses.MISSING and not value.strip():
                errors[field.name] = [_("This field is required.")]
            elif limit is not None and len(value) > limit:
                errors[field.name] = [_("At most %(n)d characters.") % {"n": limit}]
        country = normalize_country(self.country) if isinstance(self.country, str) else ""
        if "country" not in errors:
            try:
                validate_country(country)
            except ValidationError as exc:
                errors["country"] = exc.messages
        if errors:
            raise ValidationError(errors)
        return dataclasses.replace(self, country=country)


def _column_limit(name: str) -> int | None:
    """The longest text an order's column holds (None: no limit)."""
    column = Order._meta.get_field(name)
    return column.max_length if isinstance(column, models.Field) else None


def _record(
    order: Order, *, kind: str, from_status: str = "", by: User | None = None, note: str = ""
) -> None:
    OrderEvent.objects.create(
        order=order,
        kind=kind,
        from_status=from_status,
        to_status=order.status,
        actor=by,
        note=note,
    )


def order_transition(*, order: Order, to: str, by: User | None = None, note: str = "") -> Order:
    """Move a locked order through the state machine and write the event row."""
    previous = transitions.transition(order, to=to)
    order.save()
    _record(order, kind=OrderEvent.Kind.STATUS_CHANGED, from_status=previous, by=by, note=note)
    return order


def order_place(*, user: User, shipping_method_id: int, address: ShippingAddress) -> Order:
    """Place the user's whole cart: reserve its stock, write the order and empty the cart,
    all in one transaction. Prices come from the variants as locked here. The order comes
    back with its lines loaded as `with_lines()` loads them, so a caller answers from it
    without reading back what was just written.

    Measured hot path (bench/orders_suite.py): eight statements, no savepoints."""
    address = address.validated()
    try:
        method = shipping_method_get_for_country(
            method_id=shipping_method_id, country=address.country
        )
    except ShippingMethod.DoesNotExist:
        raise ValidationError(
            {"shipping_method": [_("This shipping method does not ship to that country.")]}
        ) from None

    with transaction.atomic():
        # Lock order: the cart's lines (with the cart row), then variants in primary-key
        # order (catalog.stock), as every service does. A double-submitted checkout waits
        # here, then finds the cart empty.
        quantities = cart_lines_lock_for_checkout(user=user)
        if not quantities:
            raise EmptyCart()
        variants = stock_reserve(quantities=quantities)

        currency = settings.SHOP_CURRENCY
        foreign = sorted(({v.currency for v in variants.values()} | {method.currency}) - {currency})
        if foreign:
            # The database holds prices in one currency (core.Shop); a setting that says
            # another would sell 5000 JPY as 5000 USD. Refuse, loudly.
            logger.error("prices in %s but SHOP_CURRENCY is %s", foreign, currency)
            raise CurrencyMismatch()
        lines = []
        for variant_id, quantity in sorted(quantities.items()):
            variant = variants[variant_id]
            lines.append(
                OrderLine(
                    variant_id=variant.id,
                    product_id=variant.product_id,
                    merchant_id=variant.merchant_id,
                    product_name=variant.product_name,
                    variant_name=variant.name,
                    sku=variant.sku,
                    merchant_name=variant.merchant_name,
                    unit_price_amount=variant.price_amount,
                    quantity=quantity,
                    line_total_amount=variant.price_amount * quantity,
                    currency=currency,
                )
            )
        subtotal = sum((line.line_total_amount for line in lines), start=Decimal("0.00"))
        # bulk_create: one INSERT returning the id and the sequence-made number, without
        # save()'s per-instance signals and field checks on the hot path.
        (order,) = Order.objects.bulk_create(
            [
                Order(
                    user=user,
                    email=user.email,
                    currency=currency,
                    subtotal_amount=subtotal,
                    shipping_amount=method.price_amount,
                    total_amount=subtotal + method.price_amount,
                    shipping_method=method,
                    shipping_method_name=method.name,
                    ship_full_name=address.full_name,
                    ship_line1=address.line1,
                    ship_line2=address.line2,
                    ship_city=address.city,
                    ship_postal_code=address.postal_code,
                    ship_country=address.country,
                    ship_phone=address.phone,
                )
            ]
        )
        for line in lines:
            line.order = order
        OrderLine.objects.bulk_create(lines)
        _lines_loaded(order, lines)
        cart_empty(user=user)
        _record(order, kind=OrderEvent.Kind.PLACED, by=user)

        from orders.tasks import order_confirmation_send_task

        enqueue_on_commit(order_confirmation_send_task, order_id=order.pk)
        transaction.on_commit(ORDERS_PLACED.inc)
    return order


def _lines_loaded(order: Order, lines: list[OrderLine]) -> None:
    """Give a new order its lines as if prefetched (what Django's prefetch_related stores):
    `order.lines.all()` is then these rows, in id order, with no query. Checkout's API
    answer saved two statements per placement this way (bench/orders_suite.py)."""
    loaded = order.lines.all()
    loaded._result_cache = sorted(lines, key=lambda line: line.pk)
    # Private to Django and not in its stubs, as in django.db.models.query.prefetch_one_level.
    loaded._prefetch_done = True  # type: ignore[attr-defined]
    order._prefetched_objects_cache = {  # type: ignore[attr-defined]
        OrderLine._meta.get_field("order").remote_field.cache_name: loaded
    }


def _reserved_quantities(order: Order) -> dict[int, int]:
    return dict(order.lines.values_list("variant_id", "quantity"))


def order_cancel_kind(*, order: Order, by: User | None) -> str:
    """Who cancels when `by` asks: the order's own customer, a merchant's staff, or the
    shop (a superuser, or no user: the shell, a task acting for staff)."""
    if by is None or by.is_superuser:
        return Order.CancelledBy.STAFF
    if by.pk == order.user_id:
        return Order.CancelledBy.CUSTOMER
    return Order.CancelledBy.MERCHANT


def _mark_cancelled(order: Order, *, kind: str, by: User | None, reason: str) -> None:
    order.cancelled_at = timezone.now()
    order.cancelled_by_kind = kind
    order.cancel_reason = reason[: _column_limit("cancel_reason") or None]
    order_transition(order=order, to=Order.Status.CANCELLED, by=by, note=reason)


def order_mark_cancelled(
    *, order: Order, by: User | None = None, reason: str = "", kind: str | None = None
) -> bool:
    """Cancel a locked order awaiting payment (its reservation is released) or paid with
    nothing acknowledged or shipped (its stock returns to the shelf). Returns whether money
    was taken for it: the caller (payments.services.cancel.order_cancel) then refunds it in
    full and voids its pending payments, in the same transaction. Orders never calls
    payments.

    `kind` (an `Order.CancelledBy`) defaults to what `by` is (`order_cancel_kind`); it
    decides what money arriving later means (`order_payment_captured`)."""
    if not order.is_cancellable:
        raise transitions.InvalidTransition(
            _("An order that is %(status)s cannot be cancelled.")
            % {"status": order.get_status_display()}
            if order.status != Order.Status.PAID
            else _("A merchant is already preparing this order, so it can no longer be cancelled.")
        )
    kind = kind or order_cancel_kind(order=order, by=by)
    if kind not in Order.CancelledBy.values:
        raise ValueError(f"not a cancel kind: {kind!r}")
    was_paid = order.status == Order.Status.PAID
    _mark_cancelled(order, kind=kind, by=by, reason=reason)
    if was_paid:
        stock_restock(quantities=_unsent_quantities_cancel(order))
    else:
        stock_release(quantities=_reserved_quantities(order))
    return was_paid


def _unsent_quantities_cancel(order: Order) -> dict[int, int]:
    """Units of a locked, paid order that never left, now counted as cancelled: what goes
    back on the shelf (a line a merchant cancelled before is not restocked twice)."""
    unsent: dict[int, int] = {}
    for line in order.lines.select_for_update().order_by("pk"):
        if line.unshipped_quantity:
            unsent[line.variant_id] = unsent.get(line.variant_id, 0) + line.unshipped_quantity
            line.cancelled_quantity += line.unshipped_quantity
            line.save(update_fields=["cancelled_quantity"])
    return unsent


@dataclasses.dataclass(frozen=True)
class CaptureVerdict:
    """What money captured for an order means to it: kept, or to be given back (why)."""

    keep: bool
    refund_reason: str = ""


def order_payment_captured(*, order: Order, payment_id: int) -> CaptureVerdict:
    """Money for a locked order has been captured (called by the payments service, which
    refunds the money when the verdict says not to keep it).

    Awaiting payment: the reservation is sold and the order is paid. Cancelled by the
    expiry task (the money came after the reservation ran out): paid again if its stock can
    still be sold, else refunded. Cancelled by a person (the customer, a merchant, staff):
    refunded, never revived: that cancel sticks. Paid already (a second payment):
    refunded. Either way an order event says what happened."""
    quantities = _reserved_quantities(order)
    if order.status == Order.Status.PENDING_PAYMENT:
        stock_commit(quantities=quantities)
        _order_mark_paid(order, note=_("Payment %(id)s captured.") % {"id": payment_id})
        return CaptureVerdict(keep=True)
    if (
        order.status == Order.Status.CANCELLED
        and order.cancelled_by_kind == Order.CancelledBy.EXPIRED
        and stock_sell_if_available(quantities=quantities)
    ):
        order.cancelled_at = None
        order.cancelled_by_kind = ""
        order.cancel_reason = ""
        _order_mark_paid(
            order,
            note=_("Late payment %(id)s: stock still available, order restored.")
            % {"id": payment_id},
        )
        return CaptureVerdict(keep=True)
    if order.was_cancelled_deliberately:
        note = _(
            "Payment %(id)s arrived after the order was cancelled (by %(who)s) and is "
            "refunded in full; the order stays cancelled."
        ) % {"id": payment_id, "who": order.get_cancelled_by_kind_display()}
        reason = f"order cancelled by {order.cancelled_by_kind}"
    elif order.status == Order.Status.CANCELLED:
        note = _(
            "Payment %(id)s arrived after payment time ran out, when the items were no "
            "longer available; it is refunded in full."
        ) % {"id": payment_id}
        reason = "late payment, stock gone"
    else:
        note = _("Payment %(id)s arrived for a %(status)s order and is refunded in full.") % {
            "id": payment_id,
            "status": order.get_status_display(),
        }
        reason = "order already paid"
    _record(order, kind=OrderEvent.Kind.NOTE, note=note)
    return CaptureVerdict(keep=False, refund_reason=reason)


def _order_mark_paid(order: Order, *, note: str) -> Order:
    order.payment_status = Order.PaymentStatus.PAID
    order.paid_at = timezone.now()
    order = order_transition(order=order, to=Order.Status.PAID, note=note)
    order_paid_notify_merchants(order=order)  # each merchant learns what to ship, once
    return order


def order_payment_refunded(*, order: Order, fully: bool) -> Order:
    """A refund was booked on one of the (locked) order's payments."""
    order.payment_status = (
        Order.PaymentStatus.REFUNDED if fully else Order.PaymentStatus.PARTIALLY_REFUNDED
    )
    if fully and transitions.can_transition(order.status, Order.Status.REFUNDED):
        # Units that never left go back on the shelf; shipped ones come back (or not)
        # through a return, where the merchant says whether they can be sold again.
        unsent = _unsent_quantities_cancel(order)
        if unsent:
            stock_restock(quantities=unsent)
        return order_transition(order=order, to=Order.Status.REFUNDED, note=_("Refunded in full."))
    order.save(update_fields=["payment_status", "updated_at"])
    return order


@transaction.atomic
def order_acknowledge(*, order_id: int, by: User) -> list[OrderLine]:
    """A merchant's staff acknowledge their lines of a paid order: they are preparing
    them, so from now on the shopper can no longer cancel the order (`is_cancellable`).

    Returns the lines newly acknowledged (none when they were already: a repeat is a
    no-op). Raises `Order.DoesNotExist` when the order holds no line of a merchant `by`
    works for (a superuser acknowledges every line), and InvalidTransition unless the
    order is paid or partly shipped. Shipping lines (fulfilment) acknowledges them too."""
    order = Order.objects.select_for_update().get(pk=order_id)
    own = list(order_lines_for_merchant_staff(user=by, order=order))
    if not own:
        raise Order.DoesNotExist(f"No order {order_id} with lines of {by}.")
    if order.status not in (Order.Status.PAID, Order.Status.PARTIALLY_SHIPPED):
        raise transitions.InvalidTransition(
            _("An order that is %(status)s cannot be acknowledged.")
            % {"status": order.get_status_display()}
        )
    now = timezone.now()
    fresh = [line for line in own if line.acknowledged_at is None]
    if not fresh:
        return []
    OrderLine.objects.filter(pk__in=[line.pk for line in fresh]).update(acknowledged_at=now)
    for line in fresh:
        line.acknowledged_at = now
    if order.acknowledged_at is None:
        order.acknowledged_at = now
        order.save(update_fields=["acknowledged_at", "updated_at"])
    merchants = sorted({line.merchant_name for line in fresh})
    _record(
        order,
        kind=OrderEvent.Kind.ACKNOWLEDGED,
        by=by,
        note=_("%(merchants)s started preparing %(count)d line(s).")
        % {"merchants": ", ".join(merchants), "count": len(fresh)},
    )
    return fresh


def order_expire_unpaid(*, now: datetime | None = None, batch_size: int = 100) -> int:
    """Cancel orders left awaiting payment past ORDER_PAYMENT_TIMEOUT; returns how many.

    Each order is its own transaction, taken with SKIP LOCKED so a payment being applied
    to it right now is never waited on (it is picked up on the next run if still unpaid)."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.ORDER_PAYMENT_TIMEOUT)
    expired = 0
    while True:
        with transaction.atomic():
            orders = list(
                Order.objects.select_for_update(skip_locked=True)
                .filter(status=Order.Status.PENDING_PAYMENT, created_at__lt=cutoff)
                .order_by("created_at", "id")[:batch_size]
            )
            for order in orders:
                _mark_cancelled(
                    order,
                    kind=Order.CancelledBy.EXPIRED,
                    by=None,
                    reason=_("Payment time ran out."),
                )
                stock_release(quantities=_reserved_quantities(order))
        expired += len(orders)
        if len(orders) < batch_size:
            return expired


# How long one try at the confirmation mail holds its claim. Longer than a worker lets a
# task run (CELERY_TASK_TIME_LIMIT), so a claim expires only when its worker is gone.
CONFIRMATION_CLAIM_SECONDS = 300


def order_confirmation_send(*, order_id: int) -> bool:
    """Mail the order confirmation once; returns whether this call sent it.

    The mail server is never talked to with a row locked: one short transaction claims a
    try (counted, at most ORDER_CONFIRMATION_MAX_ATTEMPTS in all), the mail goes out after
    it, and a second one records the result. A redelivered task, or a second worker while
    the first is sending, sends nothing. A failed try frees the claim and raises (the task
    retries) until the tries are used up; then it logs and gives up."""
    now = timezone.now()
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        claimed = order.confirmation_claimed_at
        if (
            order.confirmation_sent_at is not None
            or (
                claimed is not None
                and claimed > now - timedelta(seconds=CONFIRMATION_CLAIM_SECONDS)
            )
            or order.confirmation_attempts >= settings.ORDER_CONFIRMATION_MAX_ATTEMPTS
        ):
            return False
        order.confirmation_attempts += 1
        order.confirmation_claimed_at = now
        order.save(update_fields=["confirmation_attempts", "confirmation_claimed_at", "updated_at"])
        lines = list(order.lines.all())
    subject = _("Your Bazaar order %(number)s") % {"number": order.number}
    body = render_to_string("orders/email/confirmation.txt", {"order": order, "lines": lines})
    try:
        send_mail(subject, body, None, [order.email])
    except Exception as exc:
        Order.objects.filter(pk=order_id).update(
            confirmation_claimed_at=None, updated_at=timezone.now()
        )
        if order.confirmation_attempts < settings.ORDER_CONFIRMATION_MAX_ATTEMPTS:
            raise
        logger.error(
            "order %s: confirmation mail not sent after %d attempts, giving up: %r",
            order.number,
            order.confirmation_attempts,
            exc,
        )
        return False
    Order.objects.filter(pk=order_id).update(
        confirmation_sent_at=timezone.now(), confirmation_claimed_at=None, updated_at=timezone.now()
    )
    return True


def order_confirmations_requeue(*, older_than_seconds: int = 300, limit: int = 500) -> int:
    """Queue again confirmations not sent yet (the broker was down when the order was placed,
    a try failed, or a worker died while sending) that have tries left; returns how many.

    An order whose last try was lost with its worker is given up here, and logged once."""
    from orders.tasks import order_confirmation_send_task

    now = timezone.now()
    claim_expired = now - timedelta(seconds=CONFIRMATION_CLAIM_SECONDS)
    unsent = Order.objects.filter(
        confirmation_sent_at__isnull=True,
        created_at__lt=now - timedelta(seconds=older_than_seconds),
    )
    max_attempts = settings.ORDER_CONFIRMATION_MAX_ATTEMPTS
    lost = unsent.filter(
        confirmation_attempts__gte=max_attempts, confirmation_claimed_at__lt=claim_expired
    )
    for number in lost.values_list("number", flat=True):
        logger.error(
            "order %s: confirmation mail not sent after %d attempts, giving up",
            number,
            max_attempts,
        )
    lost.update(confirmation_claimed_at=None, updated_at=now)
    pks = (
        unsent.filter(confirmation_attempts__lt=max_attempts)
        .filter(
            models.Q(confirmation_claimed_at__isnull=True)
            | models.Q(confirmation_claimed_at__lt=claim_expired)
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(enqueue(order_confirmation_send_task, order_id=pk) for pk in pks)
