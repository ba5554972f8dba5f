"""Returns (RMAs): a shopper asks to send delivered items of one merchant back; the
merchant approves or rejects, receives the goods (restocking what can be sold again) and
the lines are refunded through payments."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import StockMovement
from catalog.selectors import merchant_staff_emails
from catalog.stock import variant_stock_adjust
from fulfilment import transitions
from fulfilment.errors import NotReturnable, ReturnNotFound
from fulfilment.models import Return, ReturnLine
from fulfilment.selectors import ACTIVE_RETURN_STATUSES, order_returnable
from fulfilment.services.shipments import staff_merchants
from orders.lines import order_event_note
from orders.models import Order, OrderEvent, OrderLine
from payments.models import Payment
from payments.services.refunds import payments_refund_amount, refunds_settled
from shop.core.outbox import email_queue
from shop.core.tasks import enqueue_on_commit

if TYPE_CHECKING:
    from accounts.models import User

COMMENT_MAX = 2000
# How long after receipt the settle task looks at a return's refund first.
SETTLE_DELAY_SECONDS = 5


def _refund_key(return_request: Return) -> str:
    return f"return-{return_request.pk}"


def return_request(
    *, order_id: int, user: User, lines: Mapping[int, int], reason: str, comment: str = ""
) -> Return:
    """Ask to return delivered units ({order line id: quantity}) of one merchant of the
    user's order, within RETURN_WINDOW_DAYS of delivery. More than was delivered and is not
    already in a return: 400; not delivered or past the window: 409. The order is locked,
    so two requests at once never return a unit twice."""
    errors: dict[str, list[str]] = {}
    if reason not in Return.Reason.values:
        errors["reason"] = [_("Choose one of the reasons offered.")]
    if not isinstance(comment, str) or len(comment) > COMMENT_MAX:
        errors["comment"] = [_("At most %(n)d characters.") % {"n": COMMENT_MAX}]
    if not lines:
        errors["lines"] = [_("Choose at least one line to return.")]
    for quantity in lines.values():
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            errors["lines"] = [_("Each quantity is a whole number of at least 1.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(pk=order_id, user=user).first()
        if order is None:
            raise ReturnNotFound()
        order_lines = {line.pk: line for line in OrderLine.objects.filter(order=order)}
        unknown = [pk for pk in lines if pk not in order_lines]
        if unknown:
            raise ValidationError(
                {"lines": [_("Line %(id)s is not a line of this order.") % {"id": unknown[0]}]}
            )
        returnable = order_returnable(order=order)
        now = timezone.now()
        for line_id, quantity in lines.items():
            line = order_lines[line_id]
            if line_id not in returnable:
                raise NotReturnable(
                    _("%(name)s has not been delivered yet.") % {"name": line.product_name}
                )
            if returnable[line_id].until < now:
                raise NotReturnable(
                    _("%(name)s was delivered more than %(days)d days ago.")
                    % {"name": line.product_name, "days": settings.RETURN_WINDOW_DAYS}
                )
            if quantity > returnable[line_id].quantity:
                raise ValidationError(
                    {
                        "lines": [
                            _("Only %(n)d of %(name)s can still be returned.")
                            % {"n": returnable[line_id].quantity, "name": line.product_name}
                        ]
                    }
                )
        merchants = {order_lines[pk].merchant_id for pk in lines}
        if len(merchants) > 1:
            raise ValidationError({"lines": [_("Return the items of one merchant at a time.")]})
        amounts = {
            pk: order_lines[pk].unit_price_amount * quantity for pk, quantity in lines.items()
        }
        refund = sum(amounts.values(), Decimal("0.00"))
        if _whole_order_back(order, order_lines, adding=lines):
            refund += order.shipping_amount  # everything comes back: the shipping too
        created = Return.objects.create(
            order=order,
            merchant_id=merchants.pop(),
            reason=reason,
            comment=comment.strip(),
            refund_amount=refund,
            currency=order.currency,
        )
        ReturnLine.objects.bulk_create(
            ReturnLine(
                return_request=created,
                order_line_id=pk,
                quantity=quantity,
                refund_amount=amounts[pk],
            )
            for pk, quantity in sorted(lines.items())
        )
        order_event_note(
            order=order,
            kind=OrderEvent.Kind.RETURN,
            note=_("Return %(id)s requested.") % {"id": created.pk},
            by=user,
        )
        staff = merchant_staff_emails(merchant_ids=[created.merchant_id])
        email_queue(
            key=f"return-requested:{created.pk}",
            to=staff[created.merchant_id],
            subject=_("Return requested for order %(number)s") % {"number": order.number},
            template="fulfilment/email/return_requested",
            context={"order": order, "return": created, "lines": _lines_of(created)},
        )
    return created


def _whole_order_back(
    order: Order, order_lines: Mapping[int, OrderLine], *, adding: Mapping[int, int]
) -> bool:
    """Whether, with `adding`, every unit the order sent is in an active return."""
    held = dict(
        ReturnLine.objects.filter(
            return_request__order=order, return_request__status__in=ACTIVE_RETURN_STATUSES
        )
        .order_by()
        .values("order_line_id")
        .annotate(quantity=Sum("quantity"))
        .values_list("order_line_id", "quantity")
    )
    return all(
        held.get(pk, 0) + adding.get(pk, 0) >= line.shipped_quantity
        for pk, line in order_lines.items()
    )


def _lines_of(return_request: Return) -> list[tuple[OrderLine, int]]:
    rows = return_request.lines.select_related("order_line").order_by("id")
    return [(row.order_line, row.quantity) for row in rows]


def _for_staff(return_id: int, user: User) -> Return:
    """A return of the user's merchants, locked after its order; another merchant's: 404."""
    merchant_ids = staff_merchants(user=user)
    found = Return.objects.filter(pk=return_id)
    if merchant_ids is not None:
        found = found.filter(merchant_id__in=merchant_ids)
    order_id = found.values_list("order_id", flat=True).first()
    if order_id is None:
        raise ReturnNotFound()
    Order.objects.select_for_update().get(pk=order_id)
    return Return.objects.select_for_update().select_related("order").get(pk=return_id)


def _decide(return_id: int, *, by: User, to: str, note: str, template: str, subject: str) -> Return:
    with transaction.atomic():
        found = _for_staff(return_id, by)
        transitions.transition(found, to=to)
        found.note = note.strip()
        found.decided_at = timezone.now()
        found.save(update_fields=["status", "note", "decided_at", "updated_at"])
        order_event_note(
            order=found.order,
            kind=OrderEvent.Kind.RETURN,
            note=_("Return %(id)s %(status)s.")
            % {"id": found.pk, "status": found.get_status_display()},
            by=by,
        )
        email_queue(
            key=f"return-{to}:{found.pk}",
            to=[found.order.email],
            subject=subject % {"number": found.order.number},
            template=template,
            context={"order": found.order, "return": found, "lines": _lines_of(found)},
        )
    return found


def return_approve(*, return_id: int, by: User, note: str = "") -> Return:
    """The merchant accepts the return; the shopper gets the note as instructions."""
    return _decide(
        return_id,
        by=by,
        to=Return.Status.APPROVED,
        note=note,
        template="fulfilment/email/return_approved",
        subject=_("Your return for order %(number)s is approved"),
    )


def return_reject(*, return_id: int, by: User, note: str) -> Return:
    """The merchant refuses the return, saying why."""
    if not (note or "").strip():
        raise ValidationError({"note": [_("Say why the return is rejected.")]})
    return _decide(
        return_id,
        by=by,
        to=Return.Status.REJECTED,
        note=note,
        template="fulfilment/email/return_rejected",
        subject=_("Your return for order %(number)s was not accepted"),
    )


def return_cancel(*, return_id: int, user: User) -> Return:
    """The shopper withdraws a return before the goods were received."""
    with transaction.atomic():
        order_id = (
            Return.objects.filter(pk=return_id, order__user=user)
            .values_list("order_id", flat=True)
            .first()
        )
        if order_id is None:
            raise ReturnNotFound()
        Order.objects.select_for_update().get(pk=order_id)
        found = Return.objects.select_for_update().get(pk=return_id)
        transitions.transition(found, to=Return.Status.CANCELLED)
        found.save(update_fields=["status", "updated_at"])
    return found


def return_receive(*, return_id: int, by: User, restock: Mapping[int, bool]) -> Return:
    """The goods came back: each line goes back on the shelf or not ({order line id:
    restock}, every line of the return), and the return's amount is refunded through
    payments (the payment becomes partially refunded or refunded; when nothing paid is left
    the order becomes refunded). Lock order: order, payments, return, variants."""
    with transaction.atomic():
        found = _for_staff(return_id, by)
        list(Payment.objects.select_for_update().filter(order=found.order).order_by("pk"))
        rows = list(found.lines.select_related("order_line").order_by("id"))
        missing = [row.order_line_id for row in rows if row.order_line_id not in restock]
        extra = set(restock) - {row.order_line_id for row in rows}
        if missing or extra:
            raise ValidationError(
                {"lines": [_("Say for every line of the return whether it is restocked.")]}
            )
        transitions.transition(found, to=Return.Status.RECEIVED)
        found.received_at = timezone.now()
        found.save(update_fields=["status", "received_at", "updated_at"])
        for row in rows:
            row.restock = bool(restock[row.order_line_id])
            row.save(update_fields=["restock"])
            if row.restock:
                variant_stock_adjust(
                    variant_id=row.order_line.variant_id,
                    delta=row.quantity,
                    reason=StockMovement.Reason.RETURN,
                    by=by,
                    note=_("Return %(id)s") % {"id": found.pk},
                )
        payments_refund_amount(
            order=found.order,
            amount=found.refund_amount,
            key=_refund_key(found),
            by=by,
            reason=_("Return %(id)s") % {"id": found.pk},
        )
        order_event_note(
            order=found.order,
            kind=OrderEvent.Kind.RETURN,
            note=_("Return %(id)s received; %(amount)s %(currency)s refunded.")
            % {"id": found.pk, "amount": found.refund_amount, "currency": found.currency},
            by=by,
        )
        from fulfilment.tasks import returns_settle_task

        enqueue_on_commit(returns_settle_task, return_id=found.pk)
    return found


def returns_settle(*, return_id: int | None = None, older_than_seconds: int = 0) -> int:
    """Mark received returns refunded once every refund of theirs went through at the
    provider, telling the shopper; returns how many. Run after a receipt and by beat."""
    received = Return.objects.filter(status=Return.Status.RECEIVED)
    if return_id is not None:
        received = received.filter(pk=return_id)
    if older_than_seconds:
        received = received.filter(
            received_at__lt=timezone.now() - timedelta(seconds=older_than_seconds)
        )
    settled = 0
    for pk in received.order_by("pk").values_list("pk", flat=True)[:500]:
        if refunds_settled(key=f"return-{pk}") is not True:
            continue
        with transaction.atomic():
            found = Return.objects.select_for_update().select_related("order").get(pk=pk)
            if found.status != Return.Status.RECEIVED:
                continue
            transitions.transition(found, to=Return.Status.REFUNDED)
            found.refunded_at = timezone.now()
            found.save(update_fields=["status", "refunded_at", "updated_at"])
            email_queue(
                key=f"return-refunded:{found.pk}",
                to=[found.order.email],
                subject=_("Refunded: your return for order %(number)s")
                % {"number": found.order.number},
                template="fulfilment/email/return_refunded",
                context={"order": found.order, "return": found, "lines": _lines_of(found)},
            )
            settled += 1
    return settled


def return_awaits_refund(*, return_id: int) -> bool:
    """Whether a received return's refund is still on its way at the provider."""
    received = Return.objects.filter(pk=return_id, status=Return.Status.RECEIVED).exists()
    return received and refunds_settled(key=f"return-{return_id}") is False
