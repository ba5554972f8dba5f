"""Orders in the admin: read-only records; every change goes through the orders services,
from actions (backoffice adds them), never from saving the order page.

Merchant staff (the Merchants group, with view permissions only) see just the orders that
hold lines of a merchant they work for, and of those only their own lines; any other
order answers 404, like one that does not exist (catalog.admin.ScopedAdminMixin). They
filter, search and sort only by what they are shown: an order's totals include other
merchants' lines, so they are neither shown nor usable as a filter or a sort."""

from __future__ import annotations

from typing import cast

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from catalog.admin import ScopedAdminMixin
from orders.models import Order, OrderEvent, OrderLine
from orders.querysets import OrderLineQuerySet, OrderQuerySet
from shop.core.admin import ReadOnlyAdminMixin, ReadOnlyTabularInline

_MONEY_FIELDS = ["subtotal_amount", "shipping_amount", "total_amount"]
_TOTALS = _("Totals")


class OrderLineInline(ReadOnlyTabularInline):
    model = OrderLine
    fields = readonly_fields = (
        "sku",
        "product_name",
        "variant_name",
        "merchant_name",
        "quantity",
        "shipped_quantity",
        "cancelled_quantity",
        "unit_price_amount",
        "line_total_amount",
        "currency",
        "acknowledged_at",
    )

    def get_queryset(self, request):
        # The model's manager makes it an OrderLineQuerySet; the stubs only know QuerySet.
        queryset = cast(OrderLineQuerySet, super().get_queryset(request))
        if request.user.is_superuser:
            return queryset
        return queryset.for_merchant_staff(request.user)


class OrderEventInline(ReadOnlyTabularInline):
    model = OrderEvent
    fields = readonly_fields = ("created_at", "kind", "from_status", "to_status", "actor", "note")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


class OrderAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    """The order pages of the admin: what they show and to whom. Registered by backoffice,
    which adds the actions that need the floors above orders (cancel with a refund).

    Read-only (ReadOnlyAdminMixin): the page shows an order and a POST to it is refused,
    so saving never rewrites the row behind the services' backs, nor logs a change or
    reports one that did not happen."""

    inlines = [OrderLineInline, OrderEventInline]
    list_display = [
        "number",
        "email",
        "status_badge",
        "payment_status",
        "fulfilment_status",
        "total",
        "created_at",
    ]
    list_filter = ["status", "payment_status", "fulfilment_status"]
    search_fields = ["=number", "email"]
    date_hierarchy = "created_at"
    list_per_page = 50
    show_full_result_count = False
    # The order's own page (/orders/<number>/) is the shopper's: staff get a 404 there.
    view_on_site = False
    fieldsets = [
        (None, {"fields": ["number", "email", "status", "payment_status", "fulfilment_status"]}),
        (_TOTALS, {"fields": [*_MONEY_FIELDS, "currency"]}),
        (
            _("Shipping"),
            {
                "fields": [
                    "shipping_method_name",
                    "ship_full_name",
                    "ship_line1",
                    "ship_line2",
                    "ship_city",
                    "ship_postal_code",
                    "ship_country",
                    "ship_phone",
                ]
            },
        ),
        (
            _("History"),
            {
                "fields": [
                    "created_at",
                    "paid_at",
                    "acknowledged_at",
                    "cancelled_at",
                    "cancelled_by_kind",
                    "cancel_reason",
                    "updated_at",
                ]
            },
        ),
    ]

    def get_queryset(self, request):
        # Scoping by line: ScopedAdminMixin's lookup would join and repeat orders.
        queryset = cast(OrderQuerySet, admin.ModelAdmin.get_queryset(self, request))
        if not self.is_scoped(request):
            return queryset
        return queryset.for_merchant_staff(request.user)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return fieldsets
        # The order's totals include other merchants' lines: not theirs to see.
        return [fieldset for fieldset in fieldsets if fieldset[0] is not _TOTALS]

    def get_list_display(self, request):
        if request.user.is_superuser:
            return self.list_display
        return [name for name in self.list_display if name != "total"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Order._meta.concrete_fields if f.name != "id"]

    def has_cancel_permission(self, request) -> bool:
        """The permission of actions that cancel orders (through the services)."""
        return request.user.has_perm("orders.change_order")

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj: Order) -> str:
        return obj.get_status_display()

    @admin.display(description=_("total"), ordering="total_amount")
    def total(self, obj: Order) -> str:
        return f"{obj.total_amount} {obj.currency}"
