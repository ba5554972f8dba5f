"""Payments in the admin: read-only records; money moves only through the services.

Only superusers and users given payments permissions (the Finance group) see any of it;
merchant staff have none. Refunding needs `change_payment`, re-applying webhook events
`change_webhookevent`: the admin uses these as action permissions, never to edit rows."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.contrib import admin, messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from payments.errors import RefundNotAllowed
from payments.forms import RefundForm
from payments.models import MoneyEvent, Payment, Refund, WebhookEvent
from payments.selectors import payment_list_with_totals, payment_refundable_amount
from payments.services.refunds import refund_partial
from payments.services.webhooks import webhook_event_reapply
from shop.core.admin import ReadOnlyAdminMixin, ReadOnlyTabularInline

if TYPE_CHECKING:
    from payments.selectors import PaymentWithTotals


class MoneyEventInline(ReadOnlyTabularInline):
    model = MoneyEvent
    fields = readonly_fields = ("created_at", "kind", "amount", "currency", "source")


class RefundInline(ReadOnlyTabularInline):
    model = Refund
    fields = readonly_fields = (
        "created_at",
        "amount",
        "currency",
        "status",
        "reason",
        "provider_reference",
        "created_by",
        "failure_reason",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("created_by")


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    inlines = [MoneyEventInline, RefundInline]
    list_display = [
        "order_number",
        "provider",
        "status",
        "amount",
        "currency",
        "provider_reference",
        "created_at",
    ]
    list_filter = ["status", "provider"]
    list_select_related = ["order"]
    search_fields = ["=order__number", "=provider_reference"]
    date_hierarchy = "created_at"
    list_per_page = 50
    show_full_result_count = False
    actions = ["refund_part"]
    fields = readonly_fields = (
        "order",
        "provider",
        "status",
        "amount",
        "currency",
        "captured",
        "refunded",
        "provider_reference",
        "failure_reason",
        "created_at",
        "updated_at",
    )

    def get_queryset(self, request):
        return payment_list_with_totals().select_related("order")

    def has_refund_permission(self, request) -> bool:
        return request.user.has_perm("payments.change_payment")

    @admin.display(description=_("order"), ordering="order__number")
    def order_number(self, obj: Payment) -> str:
        return obj.order.number

    @admin.display(description=_("captured"))
    def captured(self, obj: PaymentWithTotals) -> str:
        return f"{obj.captured_amount} {obj.currency}"

    @admin.display(description=_("refunded"))
    def refunded(self, obj: PaymentWithTotals) -> str:
        return f"{obj.refunded_amount} {obj.currency}"

    @admin.action(description=_("Refund part of the order…"), permissions=["refund"])
    def refund_part(self, request, queryset):
        payments = list(queryset[:2])
        if len(payments) != 1:
            self.message_user(request, _("Choose exactly one payment to refund."), messages.ERROR)
            return None
        return HttpResponseRedirect(reverse("admin:payments_payment_refund", args=[payments[0].pk]))

    def get_urls(self):
        return [
            path(
                "<id:payment_id>/refund/",
                self.admin_site.admin_view(self.refund_view),
                name="payments_payment_refund",
            ),
            *super().get_urls(),
        ]

    def refund_view(self, request, payment_id: int):
        """The action's second step: an amount or lines of the order, then refund_request."""
        if not self.has_refund_permission(request):
            raise Http404
        payment = self.get_queryset(request).filter(pk=payment_id).first()
        if payment is None:
            raise Http404
        refundable = payment_refundable_amount(payment=payment)
        lines = payment.order.lines.order_by("id")
        if request.method == "POST":
            form = RefundForm(request.POST, refundable=refundable, lines=lines)
            if form.is_valid() and self._refund(request, payment, form):
                return redirect("admin:payments_payment_change", payment.pk)
        else:
            form = RefundForm(
                refundable=refundable, lines=lines, initial={"idempotency_key": uuid.uuid4()}
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Refund part of order %(number)s") % {"number": payment.order.number},
            "payment": payment,
            "refundable": refundable,
            "form": form,
        }
        return TemplateResponse(request, "admin/payments/payment/refund.html", context)

    def _refund(self, request, payment: Payment, form: RefundForm) -> bool:
        amount = form.cleaned_data["refund_amount"]
        try:
            refund = refund_partial(
                payment_id=payment.pk,
                amount=amount,
                # One key per rendered form: a double submit refunds once.
                key=f"admin-refund-{form.cleaned_data['idempotency_key']}",
                reason=form.cleaned_data["reason"],
                by=request.user,
            )
        except RefundNotAllowed as exc:
            form.add_error(None, str(exc.message))
            return False
        self.message_user(
            request,
            _("Refund of %(amount)s %(currency)s requested; it completes in a moment.")
            % {"amount": refund.amount, "currency": refund.currency},
            messages.SUCCESS,
        )
        return True


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "order_number",
        "amount",
        "currency",
        "status",
        "provider_reference",
        "created_by",
        "created_at",
    ]
    list_filter = ["status"]
    list_select_related = ["payment__order", "created_by"]
    search_fields = ["=payment__order__number", "=provider_reference"]
    date_hierarchy = "created_at"
    list_per_page = 50
    show_full_result_count = False

    @admin.display(description=_("order"), ordering="payment__order__number")
    def order_number(self, obj: Refund) -> str:
        return obj.payment.order.number


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "event_id",
        "provider",
        "type",
        "status",
        "attempts",
        "received_at",
        "processed_at",
        "payment",
    ]
    list_filter = ["status", "provider", "type"]
    list_select_related = ["payment"]
    search_fields = [
        "=event_id",
        "=payload__data__object__metadata__order_number",
        "=payment__provider_reference",
    ]
    date_hierarchy = "received_at"
    list_per_page = 50
    show_full_result_count = False
    actions = ["reapply_selected"]

    def has_reapply_permission(self, request) -> bool:
        return request.user.has_perm("payments.change_webhookevent")

    @admin.action(description=_("Re-apply selected events"), permissions=["reapply"])
    def reapply_selected(self, request, queryset):
        queued = sum(
            webhook_event_reapply(event_pk=pk)
            for pk in queryset.order_by("pk").values_list("pk", flat=True)
        )
        skipped = queryset.count() - queued
        if queued:
            self.message_user(
                request,
                ngettext("%(count)d event queued again.", "%(count)d events queued again.", queued)
                % {"count": queued},
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d event skipped: only failed or flagged events are re-applied.",
                    "%(count)d events skipped: only failed or flagged events are re-applied.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )
