"""Output serializers of the catalog API (API.md "Catalog"); all read-only.

Money is a two-place decimal string with `currency` beside it. `rating_avg` is a decimal
string too (`"4.50"`, `"0.00"` while there are no ratings), so no float ever goes out.
Serializers read only what the selectors already loaded: they never query.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import Category, Merchant, Product, ProductAttribute, ProductImage, Variant
from catalog.search import SUGGEST_MAX_LENGTH


def _absolute_url(request, file) -> str | None:
    if not file:
        return None
    url = file.url
    return request.build_absolute_uri(url) if request is not None else url


class CategorySerializer(serializers.ModelSerializer):
    # The stubs declare `Field.parent` (a field's serializer) on every serializer, but DRF's
    # metaclass moves declared fields off the class: this field shadows nothing.
    parent: serializers.PrimaryKeyRelatedField[Category]  # type: ignore[assignment]
    parent = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text=_("The parent category's id; null at the top.")
    )

    class Meta:
        model = Category
        fields = ["id", "name", "slug", "parent"]


class MerchantSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Merchant
        fields = ["id", "name", "slug"]


class CategorySummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "slug"]


class ProductListSerializer(serializers.ModelSerializer):
    merchant = MerchantSummarySerializer(read_only=True)
    price = serializers.DecimalField(
        source="price_amount",
        max_digits=12,
        decimal_places=2,
        read_only=True,
        help_text=_("The lowest active variant's price."),
    )
    currency = serializers.CharField(read_only=True, help_text=_("ISO 4217 code of `price`."))
    in_stock = serializers.BooleanField(
        read_only=True, help_text=_("True when any variant has stock available.")
    )
    rating_avg = serializers.DecimalField(
        max_digits=3,
        decimal_places=2,
        read_only=True,
        help_text=_("Average review rating, 0.00 to 5.00 (0.00 while there are no ratings)."),
    )
    rating_count = serializers.IntegerField(read_only=True, min_value=0)
    image = serializers.SerializerMethodField(
        help_text=_("The first image's thumbnail (or the image itself), or null.")
    )

    class Meta:
        model = Product
        fields = [
            "id",
            "slug",
            "name",
            "merchant",
            "price",
            "currency",
            "in_stock",
            "rating_avg",
            "rating_count",
            "image",
        ]

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_image(self, product: Product) -> str | None:
        images = product.images.all()  # prefetched, in position order
        if not images:
            return None
        first = images[0]
        return _absolute_url(self.context.get("request"), first.thumbnail or first.image)


class ProductImageSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text=_("The full-size image."))
    thumbnail = serializers.SerializerMethodField(
        help_text=_("A small version; the full-size image when none was made.")
    )
    alt = serializers.CharField(source="alt_text", read_only=True)

    class Meta:
        model = ProductImage
        fields = ["id", "url", "thumbnail", "alt"]

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, image: ProductImage) -> str | None:
        return _absolute_url(self.context.get("request"), image.image)

    @extend_schema_field(OpenApiTypes.URI)
    def get_thumbnail(self, image: ProductImage) -> str | None:
        return _absolute_url(self.context.get("request"), image.thumbnail or image.image)


class ProductAttributeSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProductAttribute
        fields = ["name", "value"]


class VariantSerializer(serializers.ModelSerializer):
    price = serializers.DecimalField(
        source="price_amount", max_digits=12, decimal_places=2, read_only=True
    )
    in_stock = serializers.BooleanField(
        read_only=True, help_text=_("True when `stock_available` is above zero.")
    )
    stock_available = serializers.IntegerField(
        read_only=True, help_text=_("Units on hand that no placed order holds.")
    )

    class Meta:
        model = Variant
        fields = ["id", "sku", "name", "price", "currency", "in_stock", "stock_available"]


class ProductDetailSerializer(ProductListSerializer):
    category = CategorySummarySerializer(read_only=True)
    images = ProductImageSerializer(many=True, read_only=True)
    attributes = ProductAttributeSerializer(many=True, read_only=True)
    variants = VariantSerializer(many=True, read_only=True)

    class Meta(ProductListSerializer.Meta):
        fields = [
            *ProductListSerializer.Meta.fields,
            "description",
            "category",
            "images",
            "attributes",
            "variants",
        ]


class SuggestQuerySerializer(serializers.Serializer):
    q = serializers.CharField(
        required=False,
        default="",
        allow_blank=True,
        max_length=SUGGEST_MAX_LENGTH,
        help_text=_("What the shopper has typed so far; the last word may be unfinished."),
    )


class ProductSuggestionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "slug", "name"]
