"""Cart API serializers (API.md "Cart"). Output reads `cart.selectors.CartView` /
`CartItem`, which the selectors load fully: serializing never queries."""

from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from shop.core.serializers import ErrorSerializer, StrictIntegerField


def _quantity_field(**kwargs: Any) -> StrictIntegerField:
    # Built per serializer instance so the bound follows MAX_LINE_QUANTITY at run time.
    return StrictIntegerField(
        min_value=1,
        max_value=settings.MAX_LINE_QUANTITY,
        help_text=_("A whole number from 1 to `MAX_LINE_QUANTITY` (default 99)."),
        **kwargs,
    )


class CartLineAddInputSerializer(serializers.Serializer):
    variant = StrictIntegerField(help_text=_("The id of an active variant."))

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["quantity"] = _quantity_field()
        return fields


class CartLineUpdateInputSerializer(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["quantity"] = _quantity_field()
        return fields


class CartLineOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    variant = serializers.IntegerField(
        source="variant.pk", read_only=True, help_text=_("The variant's id.")
    )
    product_name = serializers.CharField(read_only=True)
    variant_name = serializers.CharField(read_only=True)
    quantity = serializers.IntegerField(read_only=True, min_value=1)
    unit_price = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        read_only=True,
        help_text=_("Today's price of one unit, set by the server."),
    )
    line_total = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        read_only=True,
        help_text=_("`unit_price` times `quantity`."),
    )
    currency = serializers.CharField(
        read_only=True, help_text=_("ISO 4217 code of `unit_price` and `line_total`.")
    )
    added_unit_price = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        read_only=True,
        allow_null=True,
        help_text=_(
            "The price of one unit when you added the line (null for lines from before it "
            "was recorded)."
        ),
    )
    price_changed = serializers.BooleanField(
        read_only=True,
        help_text=_(
            "True when `unit_price` is no longer `added_unit_price`: show it before checkout."
        ),
    )


class CartOutputSerializer(serializers.Serializer):
    lines = CartLineOutputSerializer(many=True, read_only=True)
    subtotal = serializers.DecimalField(
        max_digits=14, decimal_places=2, read_only=True, help_text=_("Sum of `line_total`.")
    )
    currency = serializers.CharField(read_only=True, help_text=_("ISO 4217 code of the amounts."))


class StockShortageSerializer(serializers.Serializer):
    variant = serializers.IntegerField()
    requested = serializers.IntegerField()
    available = serializers.IntegerField()


class InsufficientStockErrorSerializer(ErrorSerializer):
    """409 `insufficient_stock`: the error envelope plus the lines that are short."""

    lines = StockShortageSerializer(many=True)
