"""Orders API serializers (API.md "Checkout and orders"). Output reads only the order's
own snapshot columns and its prefetched lines: serializing never queries."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from orders.models import Order, OrderLine
from shop.core.serializers import CountryField, StrictCharField, StrictIntegerField


class ShippingAddressInputSerializer(serializers.Serializer):
    full_name = StrictCharField(max_length=150)
    line1 = StrictCharField(max_length=200)
    line2 = StrictCharField(max_length=200, required=False, allow_blank=True, default="")
    city = StrictCharField(max_length=100)
    postal_code = StrictCharField(max_length=20)
    country = CountryField()
    phone = StrictCharField(max_length=32, required=False, allow_blank=True, default="")


class OrderCreateInputSerializer(serializers.Serializer):
    shipping_method = StrictIntegerField(
        min_value=1, help_text=_("Id of a shipping method that ships to the address's country.")
    )
    shipping_address = ShippingAddressInputSerializer(
        required=False, help_text=_("Where to ship; give this or `address_id`.")
    )
    address_id = StrictIntegerField(
        required=False, min_value=1, help_text=_("One of your saved addresses, instead.")
    )

    def validate(self, attrs):
        if ("shipping_address" in attrs) == ("address_id" in attrs):
            raise serializers.ValidationError(
                {"shipping_address": [_("Give either `shipping_address` or `address_id`.")]}
            )
        return attrs


class MerchantRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class OrderLineOutputSerializer(serializers.ModelSerializer):
    variant = serializers.IntegerField(source="variant_id", read_only=True)
    merchant = serializers.SerializerMethodField(
        help_text=_("The merchant selling the line: `{id, name}` (name as at placement).")
    )
    unit_price = serializers.DecimalField(
        source="unit_price_amount", max_digits=12, decimal_places=2, read_only=True
    )
    line_total = serializers.DecimalField(
        source="line_total_amount", max_digits=12, decimal_places=2, read_only=True
    )

    class Meta:
        model = OrderLine
        fields = [
            "id",
            "variant",
            "product_name",
            "variant_name",
            "sku",
            "merchant",
            "quantity",
            "unit_price",
            "line_total",
        ]
        read_only_fields = fields

    @extend_schema_field(MerchantRefSerializer)
    def get_merchant(self, line: OrderLine) -> dict:
        return {"id": line.merchant_id, "name": line.merchant_name}


class OrderShippingAddressSerializer(serializers.Serializer):
    full_name = serializers.CharField(source="ship_full_name", read_only=True)
    line1 = serializers.CharField(source="ship_line1", read_only=True)
    line2 = serializers.CharField(source="ship_line2", read_only=True)
    city = serializers.CharField(source="ship_city", read_only=True)
    postal_code = serializers.CharField(source="ship_postal_code", read_only=True)
    country = serializers.CharField(source="ship_country", read_only=True)
    phone = serializers.CharField(source="ship_phone", read_only=True)


class OrderShippingMethodSerializer(serializers.Serializer):
    id = serializers.IntegerField(
        source="shipping_method_id",
        read_only=True,
        allow_null=True,
        help_text=_("Null once deleted."),
    )
    name = serializers.CharField(source="shipping_method_name", read_only=True)


class OrderOutputSerializer(serializers.ModelSerializer):
    lines = OrderLineOutputSerializer(many=True, read_only=True)
    subtotal = serializers.DecimalField(
        source="subtotal_amount", max_digits=12, decimal_places=2, read_only=True
    )
    shipping_total = serializers.DecimalField(
        source="shipping_amount", max_digits=12, decimal_places=2, read_only=True
    )
    total = serializers.DecimalField(
        source="total_amount", max_digits=12, decimal_places=2, read_only=True
    )
    currency = serializers.CharField(read_only=True, help_text=_("ISO 4217 code of every amount."))
    shipping_method = OrderShippingMethodSerializer(source="*", read_only=True)
    shipping_address = OrderShippingAddressSerializer(source="*", read_only=True)
    created = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Order
        fields = [
            "number",
            "status",
            "payment_status",
            "fulfilment_status",
            "lines",
            "subtotal",
            "shipping_total",
            "total",
            "currency",
            "shipping_method",
            "shipping_address",
            "created",
        ]
        read_only_fields = fields


class AcknowledgedLineSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    acknowledged_at = serializers.DateTimeField(read_only=True, allow_null=True)


class OrderAcknowledgeOutputSerializer(serializers.Serializer):
    """An acknowledged order as its merchant's staff see it: their own lines only (not the
    order's totals, which hold other merchants' lines)."""

    number = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=Order.Status.choices, read_only=True)
    acknowledged_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text=_("When a merchant first acknowledged the order: it can no longer be cancelled."),
    )
    lines = AcknowledgedLineSerializer(many=True, read_only=True, help_text=_("Your lines."))
