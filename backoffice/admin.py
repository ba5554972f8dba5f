"""Admin pages composed from several apps. Each action calls the one service that owns
its rule, as the order page and the API do."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.http import AuthenticatedHttpRequest
from orders.admin import OrderAdmin
from orders.errors import InvalidTransition
from orders.models import Order
from payments.services.cancel import order_cancel


@admin.register(Order)
class BackofficeOrderAdmin(OrderAdmin):
    actions = ["cancel_selected"]

    @admin.action(description=_("Cancel selected orders"), permissions=["cancel"])
    def cancel_selected(self, request: AuthenticatedHttpRequest, queryset: QuerySet[Order]) -> None:
        cancelled, refused = 0, []
        for order in queryset.order_by("pk"):
            try:
                order_cancel(
                    order_id=order.pk, by=request.user, reason=str(_("Cancelled in the admin."))
                )
            except InvalidTransition:
                refused.append(order.number)
            else:
                cancelled += 1
        if cancelled:
            self.message_user(
                request,
                ngettext("%(count)d order cancelled.", "%(count)d orders cancelled.", cancelled)
                % {"count": cancelled},
                messages.SUCCESS,
            )
        if refused:
            self.message_user(
                request,
                _("Not cancellable in their current state: %(numbers)s")
                % {"numbers": ", ".join(refused)},
                messages.WARNING,
            )
