from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from shipping.models import ShippingMethod
from shop.core.serializers import CountryField


class ShippingMethodListInputSerializer(serializers.Serializer):
    country = CountryField(
        required=False, help_text=_("Only methods that ship to this ISO 3166-1 alpha-2 country.")
    )


class ShippingMethodOutputSerializer(serializers.ModelSerializer):
    price = serializers.DecimalField(
        source="price_amount", max_digits=12, decimal_places=2, read_only=True
    )
    currency = serializers.CharField(read_only=True, help_text=_("ISO 4217 code of `price`."))
    estimated_days = serializers.IntegerField(
        read_only=True, min_value=0, help_text=_("Usual delivery time in days.")
    )

    class Meta:
        model = ShippingMethod
        fields = ["id", "name", "price", "currency", "estimated_days"]
        read_only_fields = fields
