"""Admin pages composed from several apps. Each action calls the one service that owns
its rule, as the order page and the API do."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.http import AuthenticatedHttpRequest
from orders.admin import OrderAdmin
from orders.errors import InvalidTransition
from orders.models import Order
from orders.services import order_acknowledge
from payments.services.cancel import order_cancel


@admin.register(Order)
class BackofficeOrderAdmin(OrderAdmin):
    actions = ["cancel_selected", "acknowledge_selected"]

    def has_acknowledge_permission(self, request: HttpRequest) -> bool:
        """Merchant staff (for their own lines) and superusers; merchant staff only have
        view permission on orders, so this is not Django's "change"."""
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return False
        return user.is_superuser or user.merchants.exists()

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

    @admin.action(
        description=_("Acknowledge my lines (preparing them: the shopper can no longer cancel)"),
        permissions=["acknowledge"],
    )
    def acknowledge_selected(
        self, request: AuthenticatedHttpRequest, queryset: QuerySet[Order]
    ) -> None:
        acknowledged, refused = 0, []
        # The queryset is already scoped to orders holding the user's lines (OrderAdmin).
        for order in queryset.order_by("pk"):
            try:
                lines = order_acknowledge(order_id=order.pk, by=request.user)
            except (InvalidTransition, Order.DoesNotExist):
                refused.append(order.number)
            else:
                acknowledged += bool(lines)
        if acknowledged:
            self.message_user(
                request,
                ngettext(
                    "%(count)d order acknowledged.", "%(count)d orders acknowledged.", acknowledged
                )
                % {"count": acknowledged},
                messages.SUCCESS,
            )
        if refused:
            self.message_user(
                request,
                _("Only paid orders can be acknowledged: %(numbers)s")
                % {"numbers": ", ".join(refused)},
                messages.WARNING,
            )
