"""Fulfilment in the admin: carriers (admins keep the list), shipments with their tracking
timeline, and returns that merchant staff decide and receive. Rows change only through the
services; merchant staff see their merchant's rows only (others answer 404)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from catalog.admin import ScopedAdminMixin
from fulfilment.forms import ReturnDecideForm, ReturnReceiveForm
from fulfilment.models import Carrier, Return, ReturnLine, Shipment, ShipmentEvent, ShipmentLine
from fulfilment.services.returns import return_approve, return_receive, return_reject
from fulfilment.services.shipments import sandbox_carrier_event_build
from shop.core.admin import ReadOnlyAdminMixin, ReadOnlyTabularInline
from shop.core.errors import DomainError
from shop.core.tasks import enqueue


@admin.register(Carrier)
class CarrierAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "tracking_url_template", "is_active", "is_sandbox"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


class ShipmentLineInline(ReadOnlyTabularInline):
    model = ShipmentLine
    fields = readonly_fields = ("order_line", "quantity")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ShipmentLine]:
        return super().get_queryset(request).select_related("order_line")


class ShipmentEventInline(ReadOnlyTabularInline):
    model = ShipmentEvent
    fields = readonly_fields = ("occurred_at", "status", "description", "source", "created_at")
    ordering = ["occurred_at", "id"]


@admin.register(Shipment)
class ShipmentAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    inlines = [ShipmentLineInline, ShipmentEventInline]
    list_display = ["order", "carrier", "tracking", "status_badge", "created_at", "delivered_at"]
    list_filter = ["status", "carrier"]
    list_select_related = ["order", "carrier"]
    search_fields = ["=tracking_number", "=order__number"]
    date_hierarchy = "created_at"
    list_per_page = 50
    show_full_result_count = False
    actions = ["sandbox_next_event"]
    fields = readonly_fields = (
        "order",
        "merchant",
        "carrier",
        "tracking",
        "status",
        "status_at",
        "delivered_at",
        "created_by",
        "created_at",
    )

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("fulfilment.view_shipment")

    def has_sandbox_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("fulfilment.view_shipment")

    @admin.display(description=_("tracking number"), ordering="tracking_number")
    def tracking(self, obj: Shipment) -> str:
        url = obj.tracking_url
        if not url:
            return obj.tracking_number
        return format_html('<a href="{}" rel="noopener">{}</a>', url, obj.tracking_number)

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj: Shipment) -> str:
        if obj.status == Shipment.Status.EXCEPTION:
            return format_html('<strong class="errornote">{}</strong>', obj.get_status_display())
        return str(obj.get_status_display())

    @admin.action(description=_("Send the next sandbox tracking event"), permissions=["sandbox"])
    def sandbox_next_event(self, request: HttpRequest, queryset: QuerySet[Shipment]) -> None:
        from fulfilment.tasks import carrier_sandbox_send_task

        sent = skipped = 0
        for shipment in queryset.select_related("carrier").order_by("pk"):
            event = sandbox_carrier_event_build(shipment=shipment)
            if event is None:
                skipped += 1
                continue
            url = request.build_absolute_uri(
                reverse("fulfilment:carrier_webhook", args=[shipment.carrier.slug])
            )
            sent += enqueue(carrier_sandbox_send_task, url=url, event=event)
        if sent:
            self.message_user(
                request,
                ngettext(
                    "%(count)d sandbox tracking event sent; the shipment updates in a moment.",
                    "%(count)d sandbox tracking events sent; the shipments update in a moment.",
                    sent,
                )
                % {"count": sent},
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                _("%(count)d skipped: not a sandbox carrier's, or delivered already.")
                % {"count": skipped},
                messages.WARNING,
            )


class ReturnLineInline(ReadOnlyTabularInline):
    model = ReturnLine
    fields = readonly_fields = ("order_line", "quantity", "refund_amount", "restock")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ReturnLine]:
        return super().get_queryset(request).select_related("order_line")


class ReturnStatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(value, str(label)) for value, label in Return.Status.choices]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Return]) -> QuerySet[Return]:
        return queryset.filter(status=self.value()) if self.value() else queryset


@admin.register(Return)
class ReturnAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Returns waiting first; a return's page links to its decision and receipt pages."""

    inlines = [ReturnLineInline]
    list_display = ["__str__", "order", "status", "reason", "refund", "created_at"]
    list_filter = [ReturnStatusFilter, "reason"]
    list_select_related = ["order"]
    search_fields = ["=order__number"]
    list_per_page = 50
    show_full_result_count = False
    fields = readonly_fields = (
        "order",
        "merchant",
        "status",
        "next_step",
        "reason",
        "comment",
        "note",
        "refund",
        "created_at",
        "decided_at",
        "received_at",
        "refunded_at",
    )

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("fulfilment.view_return")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Return]:
        return super().get_queryset(request).order_by("-created_at", "-id")

    @admin.display(description=_("refund"), ordering="refund_amount")
    def refund(self, obj: Return) -> str:
        return f"{obj.refund_amount} {obj.currency}"

    @admin.display(description=_("next step"))
    def next_step(self, obj: Return) -> str:
        if obj.status == Return.Status.REQUESTED:
            url = reverse("admin:fulfilment_return_decide", args=[obj.pk])
            return format_html('<a class="button" href="{}">{}</a>', url, _("Approve or reject"))
        if obj.status == Return.Status.APPROVED:
            url = reverse("admin:fulfilment_return_receive", args=[obj.pk])
            return format_html('<a class="button" href="{}">{}</a>', url, _("Goods received"))
        return "-"

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<id:return_id>/decide/",
                self.admin_site.admin_view(self.decide_view),
                name="fulfilment_return_decide",
            ),
            path(
                "<id:return_id>/receive/",
                self.admin_site.admin_view(self.receive_view),
                name="fulfilment_return_receive",
            ),
            *super().get_urls(),
        ]

    def _return_for(self, request: HttpRequest, return_id: int) -> Return:
        found = self.get_queryset(request).filter(pk=return_id).first()
        if found is None:
            raise Http404(_("No such object."))
        if not request.user.has_perm("fulfilment.change_return"):
            raise PermissionDenied
        return found

    def _page(
        self, request: HttpRequest, found: Return, form: Any, *, title: Any, submit: Any, table: Any
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "object": found,
            "title": title,
            "form": form,
            "submit_label": submit,
            "intro": _("Order %(number)s, reason: %(reason)s. %(comment)s")
            % {
                "number": found.order.number,
                "reason": found.get_reason_display(),
                "comment": found.comment,
            },
            "table": table,
        }
        return TemplateResponse(request, "admin/service_form.html", context)

    @staticmethod
    def _lines_table(found: Return) -> dict[str, Any]:
        rows = found.lines.select_related("order_line").order_by("id")
        return {
            "head": [_("Quantity"), _("Item"), _("Refund")],
            "rows": [
                (
                    row.quantity,
                    f"{row.order_line.product_name} ({row.order_line.variant_name})",
                    f"{row.refund_amount} {found.currency}",
                )
                for row in rows
            ],
        }

    def decide_view(self, request: HttpRequest, return_id: int) -> HttpResponse:
        found = self._return_for(request, return_id)
        form = ReturnDecideForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            note = form.cleaned_data["note"]
            try:
                if form.cleaned_data["decision"] == "approve":
                    return_approve(return_id=found.pk, by=request.user, note=note)  # type: ignore[arg-type]
                else:
                    return_reject(return_id=found.pk, by=request.user, note=note)  # type: ignore[arg-type]
            except ValidationError as exc:
                form.add_error("note", exc.message_dict.get("note", exc.messages))
            except DomainError as exc:
                form.add_error(None, str(exc.message))
            else:
                self.message_user(request, _("The shopper has been told."), messages.SUCCESS)
                return redirect("admin:fulfilment_return_change", found.pk)
        return self._page(
            request,
            found,
            form,
            title=_("Approve or reject return %(id)s") % {"id": found.pk},
            submit=_("Save decision"),
            table=self._lines_table(found),
        )

    def receive_view(self, request: HttpRequest, return_id: int) -> HttpResponse:
        found = self._return_for(request, return_id)
        lines = found.lines.select_related("order_line").order_by("id")
        form = ReturnReceiveForm(request.POST or None, lines=lines)
        if request.method == "POST" and form.is_valid():
            try:
                return_receive(return_id=found.pk, by=request.user, restock=form.restock())  # type: ignore[arg-type]
            except (ValidationError, DomainError) as exc:
                form.add_error(None, str(getattr(exc, "message", exc)))
            else:
                self.message_user(
                    request,
                    _("Received: %(amount)s %(currency)s is refunded to the shopper.")
                    % {"amount": found.refund_amount, "currency": found.currency},
                    messages.SUCCESS,
                )
                return redirect("admin:fulfilment_return_change", found.pk)
        return self._page(
            request,
            found,
            form,
            title=_("Goods of return %(id)s received") % {"id": found.pk},
            submit=_("Received: refund the shopper"),
            table=self._lines_table(found),
        )
