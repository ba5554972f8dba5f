"""Admin pages composed from several apps. Each action calls the one service that owns
its rule, as the order page and the API do: cancelling (payments), shipping and cancelling
lines a merchant cannot send (fulfilment)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.http import AuthenticatedHttpRequest
from backoffice.models import OrderToShip
from fulfilment.forms import CancelLinesForm, ShipForm
from fulfilment.models import Shipment
from fulfilment.selectors import staff_order_list, staff_orders_to_ship
from fulfilment.services.shipments import order_lines_cancel_for_staff, shipment_create
from orders.admin import OrderAdmin
from orders.errors import InvalidTransition
from orders.models import Order, OrderLine
from orders.services import order_acknowledge
from payments.services.cancel import order_cancel
from shop.core.admin import ReadOnlyTabularInline
from shop.core.errors import DomainError


class ShipmentInline(ReadOnlyTabularInline):
    model = Shipment
    fk_name = "order"
    fields = readonly_fields = ("carrier", "tracking", "status", "timeline", "created_at")

    def get_queryset(self, request: AuthenticatedHttpRequest) -> QuerySet[Shipment]:  # type: ignore[override]
        queryset = super().get_queryset(request).select_related("carrier")
        queryset = queryset.prefetch_related("events")
        if request.user.is_superuser:
            return queryset
        return queryset.filter(merchant__staff=request.user)

    @admin.display(description=_("tracking number"))
    def tracking(self, obj: Shipment) -> str:
        url = obj.tracking_url
        if not url:
            return obj.tracking_number
        return format_html('<a href="{}" rel="noopener">{}</a>', url, obj.tracking_number)

    @admin.display(description=_("timeline"))
    def timeline(self, obj: Shipment) -> str:
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{} · {} · {}</li>",
                (
                    (f"{e.occurred_at:%Y-%m-%d %H:%M}", e.get_status_display(), e.description)
                    for e in obj.events.all()
                ),
            ),
        )


class _ShippingPagesMixin:
    """The ship and cancel-lines pages of an order, for its merchant's staff."""

    admin_site: admin.AdminSite
    opts: Any

    def _order_for(self, request: HttpRequest, order_id: int) -> Order:
        order = self.get_queryset(request).filter(pk=order_id).first()  # type: ignore[attr-defined]
        if order is None:
            raise Http404(_("No such object."))
        if not request.user.has_perm("fulfilment.add_shipment"):
            raise PermissionDenied
        return order

    @staticmethod
    def _own_lines(request: AuthenticatedHttpRequest, order: Order) -> list[OrderLine]:
        lines = OrderLine.objects.filter(order=order).order_by("id")
        if not request.user.is_superuser:
            lines = lines.filter(merchant__staff=request.user)
        return [line for line in lines if line.unshipped_quantity]

    def _page(
        self, request: HttpRequest, order: Order, form: Any, *, title: Any, submit: Any
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": Order._meta,
            "object": order,
            "title": title,
            "form": form,
            "submit_label": submit,
            "intro": _("Ship to %(name)s, %(city)s, %(country)s (%(method)s).")
            % {
                "name": order.ship_full_name,
                "city": order.ship_city,
                "country": order.ship_country,
                "method": order.shipping_method_name,
            },
        }
        return TemplateResponse(request, "admin/service_form.html", context)

    def ship_view(self, request: AuthenticatedHttpRequest, order_id: int) -> HttpResponse:
        """Ship lines (quantities preset to all that is left) with a carrier and number."""
        order = self._order_for(request, order_id)
        lines = self._own_lines(request, order)
        limits = {line.pk: line.unshipped_quantity for line in lines}
        form = ShipForm(request.POST or None, lines=lines, limits=limits)
        if request.method == "POST" and form.is_valid():
            try:
                shipment = shipment_create(
                    order_id=order.pk,
                    carrier=form.cleaned_data["carrier"].slug,
                    tracking_number=form.cleaned_data["tracking_number"],
                    lines=form.quantities(),
                    by=request.user,
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            except DomainError as exc:
                form.add_error(None, str(exc.message))
            else:
                self.message_user(  # type: ignore[attr-defined]
                    request,
                    _("Shipped with %(carrier)s, %(tracking)s; the shopper is emailed.")
                    % {"carrier": shipment.carrier.name, "tracking": shipment.tracking_number},
                    messages.SUCCESS,
                )
                return redirect("admin:orders_order_change", order.pk)
        return self._page(
            request,
            order,
            form,
            title=_("Ship order %(n)s") % {"n": order.number},
            submit=_("Ship"),
        )

    def cancel_lines_view(self, request: AuthenticatedHttpRequest, order_id: int) -> HttpResponse:
        """Cancel units the merchant cannot send; exactly their price is refunded."""
        order = self._order_for(request, order_id)
        lines = self._own_lines(request, order)
        limits = {line.pk: line.unshipped_quantity for line in lines}
        form = CancelLinesForm(request.POST or None, lines=lines, limits=limits)
        if request.method == "POST" and form.is_valid():
            try:
                order_lines_cancel_for_staff(
                    order_id=order.pk,
                    lines=form.quantities(),
                    by=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            except DomainError as exc:
                form.add_error(None, str(exc.message))
            else:
                self.message_user(  # type: ignore[attr-defined]
                    request,
                    _("Cancelled and refunded to the shopper; the stock is back."),
                    messages.SUCCESS,
                )
                return redirect("admin:orders_order_change", order.pk)
        return self._page(
            request,
            order,
            form,
            title=_("Cancel lines of order %(n)s you cannot send") % {"n": order.number},
            submit=_("Cancel and refund these"),
        )


@admin.register(Order)
class BackofficeOrderAdmin(_ShippingPagesMixin, OrderAdmin):
    actions = ["cancel_selected", "acknowledge_selected"]
    inlines = [*OrderAdmin.inlines, ShipmentInline]

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<id:order_id>/ship/",
                self.admin_site.admin_view(self.ship_view),
                name="orders_order_ship",
            ),
            path(
                "<id:order_id>/cancel-lines/",
                self.admin_site.admin_view(self.cancel_lines_view),
                name="orders_order_cancel_lines",
            ),
            *super().get_urls(),
        ]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None and request.user.has_perm("fulfilment.add_shipment"):
            fieldsets.insert(1, (_("Fulfilment"), {"fields": ["fulfilment_links"]}))
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [*super().get_readonly_fields(request, obj), "fulfilment_links"]

    @admin.display(description=_("ship"))
    def fulfilment_links(self, obj: Order) -> str:
        if obj.status not in (Order.Status.PAID, Order.Status.PARTIALLY_SHIPPED):
            return "-"
        return format_html(
            '<a class="button" href="{}">{}</a> <a class="button" href="{}">{}</a>',
            reverse("admin:orders_order_ship", args=[obj.pk]),
            _("Ship lines"),
            reverse("admin:orders_order_cancel_lines", args=[obj.pk]),
            _("Cancel lines I cannot send"),
        )

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


@admin.register(OrderToShip)
class OrderToShipAdmin(admin.ModelAdmin):
    """The merchant's work list: paid orders with lines of theirs still to ship, oldest
    first; each links to its ship page."""

    list_display = ["number", "paid_at", "ship_to", "waiting", "ship_link"]
    list_display_links = None
    ordering = ["created_at", "id"]
    list_per_page = 50
    show_full_result_count = False

    def get_queryset(self, request: AuthenticatedHttpRequest) -> QuerySet[OrderToShip]:  # type: ignore[override]
        orders = staff_orders_to_ship(user=request.user)
        return OrderToShip.objects.filter(pk__in=orders.values("pk")).order_by(  # type: ignore[return-value]
            "created_at", "id"
        )

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> OrderToShip | None:
        # Any order of the user's merchants opens (read-only; its Ship link is on the order
        # page), not only those still to ship: a bookmark outlives the work list.
        try:
            pk = OrderToShip._meta.pk.to_python(object_id)
        except (ValidationError, ValueError):
            return None  # as Django's own get_object: not an id, no object
        orders = staff_order_list(user=request.user)  # type: ignore[arg-type]
        if not orders.filter(pk=pk).exists():
            return None
        return OrderToShip.objects.filter(pk=pk).first()  # type: ignore[return-value]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("fulfilment.add_shipment")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("fulfilment.add_shipment")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("ship to"))
    def ship_to(self, obj: Order) -> str:
        return f"{obj.ship_full_name}, {obj.ship_city}, {obj.ship_country}"

    @admin.display(description=_("waiting since"), ordering="created_at")
    def waiting(self, obj: Order) -> str:
        from django.utils.timesince import timesince

        return timesince(obj.paid_at or obj.created_at)

    @admin.display(description=_("ship"))
    def ship_link(self, obj: Order) -> str:
        return format_html(
            '<a class="button" href="{}">{}</a>',
            reverse("admin:orders_order_ship", args=[obj.pk]),
            _("Ship"),
        )
