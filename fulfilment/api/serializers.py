"""Fulfilment API serializers (API.md "Shipping"): shipments with their timeline, returns,
and the merchant staff's inputs. Output reads prefetched rows only: serializing never
queries."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from fulfilment.models import Return, Shipment, ShipmentEvent
from orders.models import Order, OrderLine
from shop.core.serializers import StrictBooleanField, StrictCharField, StrictIntegerField

# --- Output --------------------------------------------------------------------------------


class ShipmentEventOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ShipmentEvent
        fields = ["status", "description", "occurred_at"]
        read_only_fields = fields


class LineQuantitySerializer(serializers.Serializer):
    line = serializers.IntegerField(source="order_line_id", read_only=True)
    quantity = serializers.IntegerField(read_only=True)


class ShipmentOutputSerializer(serializers.ModelSerializer):
    carrier: serializers.SlugRelatedField[Shipment] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    carrier_name = serializers.CharField(source="carrier.name", read_only=True)
    tracking_url = serializers.CharField(
        read_only=True, help_text=_("The carrier's tracking page for this parcel, or empty.")
    )
    shipped_at = serializers.DateTimeField(source="created_at", read_only=True)
    lines = LineQuantitySerializer(many=True, read_only=True)
    events = ShipmentEventOutputSerializer(
        many=True, read_only=True, help_text=_("The timeline, oldest first.")
    )

    class Meta:
        model = Shipment
        fields = [
            "id",
            "carrier",
            "carrier_name",
            "tracking_number",
            "tracking_url",
            "status",
            "shipped_at",
            "delivered_at",
            "lines",
            "events",
        ]
        read_only_fields = fields


class ReturnOutputSerializer(serializers.ModelSerializer):
    lines = LineQuantitySerializer(many=True, read_only=True)
    refund_amount = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    created = serializers.DateTimeField(source="created_at", read_only=True)
    order = serializers.CharField(source="order.number", read_only=True)

    class Meta:
        model = Return
        fields = [
            "id",
            "order",
            "status",
            "lines",
            "reason",
            "comment",
            "note",
            "refund_amount",
            "currency",
            "created",
        ]
        read_only_fields = fields


class StaffOrderLineSerializer(serializers.ModelSerializer):
    unit_price = serializers.DecimalField(
        source="unit_price_amount", max_digits=12, decimal_places=2, read_only=True
    )
    line_total = serializers.DecimalField(
        source="line_total_amount", max_digits=12, decimal_places=2, read_only=True
    )
    unshipped_quantity = serializers.IntegerField(read_only=True)

    class Meta:
        model = OrderLine
        fields = [
            "id",
            "product_name",
            "variant_name",
            "sku",
            "quantity",
            "shipped_quantity",
            "cancelled_quantity",
            "unshipped_quantity",
            "unit_price",
            "line_total",
            "currency",
        ]
        read_only_fields = fields


class StaffShipToSerializer(serializers.Serializer):
    full_name = serializers.CharField(source="ship_full_name", read_only=True)
    line1 = serializers.CharField(source="ship_line1", read_only=True)
    line2 = serializers.CharField(source="ship_line2", read_only=True)
    city = serializers.CharField(source="ship_city", read_only=True)
    postal_code = serializers.CharField(source="ship_postal_code", read_only=True)
    country = serializers.CharField(source="ship_country", read_only=True)
    phone = serializers.CharField(source="ship_phone", read_only=True)


class StaffOrderOutputSerializer(serializers.ModelSerializer):
    """An order as a merchant's staff see it: only their own lines, no totals of others."""

    lines = StaffOrderLineSerializer(many=True, read_only=True)
    ship_to = serializers.SerializerMethodField()
    created = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Order
        fields = [
            "number",
            "status",
            "created",
            "paid_at",
            "shipping_method_name",
            "ship_to",
            "lines",
        ]
        read_only_fields = fields

    @extend_schema_field(StaffShipToSerializer)
    def get_ship_to(self, order: Order) -> dict[str, Any]:
        return dict(StaffShipToSerializer(order).data)


# --- Input ---------------------------------------------------------------------------------


class LineQuantityInputSerializer(serializers.Serializer):
    line = StrictIntegerField(min_value=1, help_text=_("An order line id."))
    quantity = StrictIntegerField(min_value=1)


def _unique_lines(items: list[dict[str, int]]) -> dict[int, int]:
    lines: dict[int, int] = {}
    for item in items:
        if item["line"] in lines:
            raise serializers.ValidationError(_("Name each line once."))
        lines[item["line"]] = item["quantity"]
    return lines


class ShipmentCreateInputSerializer(serializers.Serializer):
    carrier = StrictCharField(max_length=40, help_text=_("A carrier's slug, such as `dhl`."))
    tracking_number = StrictCharField(max_length=64)
    lines = serializers.ListField(
        child=StrictIntegerField(min_value=1),
        required=False,
        min_length=1,
        max_length=200,
        help_text=_(
            "Order line ids of yours; each ships all that is left of it. Default: every "
            "line of yours still to ship."
        ),
    )
    quantities = serializers.ListField(
        child=LineQuantityInputSerializer(),
        required=False,
        min_length=1,
        max_length=200,
        help_text=_("Lines shipped in part: `[{line, quantity}]` (with or instead of `lines`)."),
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        chosen: dict[int, int | None] = {pk: None for pk in attrs.get("lines", [])}
        for pk, quantity in _unique_lines(attrs.get("quantities", [])).items():
            if pk in chosen:
                raise serializers.ValidationError({"quantities": [_("Name each line once.")]})
            chosen[pk] = quantity
        attrs["chosen"] = chosen or None
        return attrs


class CancelLinesInputSerializer(serializers.Serializer):
    lines = serializers.ListField(
        child=StrictIntegerField(min_value=1),
        required=False,
        min_length=1,
        max_length=200,
        help_text=_("Order line ids of yours: all that is left to ship of each is cancelled."),
    )
    quantities = serializers.ListField(
        child=LineQuantityInputSerializer(),
        required=False,
        min_length=1,
        max_length=200,
        help_text=_("Lines cancelled in part: `[{line, quantity}]`."),
    )
    reason = StrictCharField(max_length=255, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("lines") and not attrs.get("quantities"):
            raise serializers.ValidationError({"lines": [_("Name the lines to cancel.")]})
        chosen: dict[int, int | None] = {pk: None for pk in attrs.get("lines", [])}
        for pk, quantity in _unique_lines(attrs.get("quantities", [])).items():
            if pk in chosen:
                raise serializers.ValidationError({"quantities": [_("Name each line once.")]})
            chosen[pk] = quantity
        attrs["chosen"] = chosen
        return attrs


class ReturnCreateInputSerializer(serializers.Serializer):
    lines = serializers.ListField(child=LineQuantityInputSerializer(), min_length=1, max_length=200)
    reason = serializers.ChoiceField(choices=Return.Reason.choices)
    comment = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")

    def validate_lines(self, items: list[dict[str, int]]) -> dict[int, int]:
        return _unique_lines(items)


class ReturnNoteInputSerializer(serializers.Serializer):
    note = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")


class ReturnRejectInputSerializer(serializers.Serializer):
    note = StrictCharField(max_length=2000, help_text=_("Why the return is rejected."))


class LineRestockInputSerializer(serializers.Serializer):
    line = StrictIntegerField(min_value=1, help_text=_("An order line id of the return."))
    restock = StrictBooleanField(help_text=_("Back on the shelf (true) or damaged (false)."))


class ReturnReceiveInputSerializer(serializers.Serializer):
    lines = serializers.ListField(child=LineRestockInputSerializer(), min_length=1, max_length=200)

    def validate_lines(self, items: list[dict[str, Any]]) -> dict[int, bool]:
        restock: dict[int, bool] = {}
        for item in items:
            if item["line"] in restock:
                raise serializers.ValidationError(_("Name each line once."))
            restock[item["line"]] = item["restock"]
        return restock
