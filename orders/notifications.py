"""Emails the orders app decides to send (queued in the shop's outbox)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from catalog.selectors import merchant_staff_emails
from orders.models import Order
from shop.core.outbox import email_queue


def order_paid_notify_merchants(*, order: Order) -> int:
    """Tell each merchant holding lines of a newly paid order what to send; once per
    merchant and order. Returns how many emails were queued."""
    lines_by_merchant: dict[int, list] = {}
    for line in order.lines.all():
        lines_by_merchant.setdefault(line.merchant_id, []).append(line)
    queued = 0
    for merchant_id, emails in merchant_staff_emails(merchant_ids=lines_by_merchant).items():
        lines = lines_by_merchant[merchant_id]
        queued += (
            email_queue(
                key=f"order-paid-merchant:{order.pk}:{merchant_id}",
                to=emails,
                subject=_("Bazaar: order %(number)s is paid and ready to ship")
                % {"number": order.number},
                template="orders/email/merchant_new_order",
                context={"order": order, "lines": lines, "merchant_name": lines[0].merchant_name},
            )
            is not None
        )
    return queued
