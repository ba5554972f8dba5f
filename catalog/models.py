from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.querysets import ProductQuerySet, VariantQuerySet
from catalog.validators import validate_product_image
from shop.core.models import BaseModel

SEARCH_CONFIG = "english"


def _default_currency() -> str:
    return settings.SHOP_CURRENCY


# Prices are in the one shop currency: not editable, held to core.Shop's currency by a
# foreign key the migrations add (catalog 0005), and at least one cent.
MIN_PRICE = Decimal("0.01")


class Merchant(BaseModel):
    name = models.CharField(_("name"), max_length=150)
    slug = models.SlugField(_("slug"), max_length=160, unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="merchants",
        verbose_name=_("staff users"),
        help_text=_("Users who manage this merchant's products, stock, orders and shipments."),
    )

    class Meta:
        verbose_name = _("merchant")
        verbose_name_plural = _("merchants")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Category(BaseModel):
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent"),
    )
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=140, unique=True)
    description = models.TextField(_("description"), blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["position", "name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(parent=F("id")), name="catalog_category_not_own_parent"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalog:category", kwargs={"slug": self.slug})


class Product(BaseModel):
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="products", verbose_name=_("merchant")
    )
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="products", verbose_name=_("category")
    )
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=220, unique=True)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    # A summary of the variants, kept by catalog.services.product_summary_refresh in the
    # same transaction as any change to them, so lists filter and sort on plain columns.
    price_amount = models.DecimalField(
        _("from price"), max_digits=12, decimal_places=2, default=Decimal("0.00"), editable=False
    )
    currency = models.CharField(
        _("currency"), max_length=3, default=_default_currency, editable=False
    )
    in_stock = models.BooleanField(_("in stock"), default=False, editable=False)

    # Filled by the reviews app; the score is a Bayesian average used for ordering.
    rating_avg = models.DecimalField(
        _("average rating"), max_digits=3, decimal_places=2, default=Decimal("0.00"), editable=False
    )
    rating_count = models.PositiveIntegerField(_("number of ratings"), default=0, editable=False)
    rating_score = models.DecimalField(
        _("rating score"), max_digits=6, decimal_places=4, default=Decimal("0"), editable=False
    )
    # Published reviews per star, {"1": n, ..., "5": n}; written with the figures above.
    rating_histogram = models.JSONField(
        _("ratings per star"), default=dict, blank=True, editable=False
    )

    # Always current: PostgreSQL computes it on every write; the name outweighs the description.
    search_vector = models.GeneratedField(
        expression=SearchVector("name", weight="A", config=SEARCH_CONFIG)
        + SearchVector("description", weight="B", config=SEARCH_CONFIG),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    objects = ProductQuerySet.as_manager()

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["-created_at", "-id"]
        indexes = [
            GinIndex(fields=["search_vector"], name="catalog_product_search_gin"),
            GinIndex(fields=["name"], opclasses=["gin_trgm_ops"], name="catalog_product_name_trgm"),
            models.Index(fields=["is_active", "-created_at"], name="catalog_product_new"),
            models.Index(fields=["is_active", "price_amount"], name="catalog_product_price"),
            models.Index(fields=["is_active", "-rating_score"], name="catalog_product_rating"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(price_amount__gte=0), name="catalog_product_price_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(rating_avg__gte=0) & Q(rating_avg__lte=5),
                name="catalog_product_rating_avg_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalog:product", kwargs={"slug": self.slug})


class Variant(BaseModel):
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="variants", verbose_name=_("product")
    )
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=120)
    price_amount = models.DecimalField(
        _("price"), max_digits=12, decimal_places=2, validators=[MinValueValidator(MIN_PRICE)]
    )
    currency = models.CharField(
        _("currency"), max_length=3, default=_default_currency, editable=False
    )
    # `stock` is what is on hand; `reserved` is held by placed, unpaid orders.
    # Changed only by catalog.stock (sales, `variant_stock_adjust`); the validator gives a
    # new variant's initial stock a form error rather than the constraint's.
    stock = models.IntegerField(_("stock on hand"), default=0, validators=[MinValueValidator(0)])
    reserved = models.IntegerField(_("reserved"), default=0, editable=False)
    stock_available = models.GeneratedField(
        expression=F("stock") - F("reserved"),
        output_field=models.IntegerField(),
        db_persist=True,
        verbose_name=_("available"),
    )
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    objects = VariantQuerySet.as_manager()

    class Meta:
        verbose_name = _("variant")
        verbose_name_plural = _("variants")
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(stock__gte=0), name="catalog_variant_stock_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(reserved__gte=0) & Q(reserved__lte=F("stock")),
                name="catalog_variant_reserved_within_stock",
            ),
            # A free variant is a mistake, not a promotion: nothing sells at 0.
            models.CheckConstraint(
                condition=Q(price_amount__gt=0), name="catalog_variant_price_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product.name} - {self.name}" if self.name else self.sku

    @property
    def in_stock(self) -> bool:
        return self.stock_available > 0


class StockMovementReason(models.TextChoices):
    """Why stock on hand changed. Later sources (sales, returns, imports) add their own."""

    INITIAL = "initial", _("Initial stock")
    ADJUSTMENT = "adjustment", _("Adjustment")
    CORRECTION = "correction", _("Stock count correction")
    RETURN = "return", _("Returned to stock")
    DAMAGED = "damaged", _("Damaged or lost")


class StockMovement(models.Model):
    """Append-only: every change to a variant's stock on hand, why, by whom and what it left.

    Written only by catalog.stock under the variant's row lock, so per variant the rows in
    id order replay the stock: each `stock_after` is the previous one plus `delta`."""

    Reason = StockMovementReason

    variant = models.ForeignKey(
        Variant,
        on_delete=models.CASCADE,
        related_name="stock_movements",
        verbose_name=_("variant"),
        # The index below, led by the variant, serves this key too.
        db_index=False,
    )
    delta = models.IntegerField(_("change"))
    reason = models.CharField(_("reason"), max_length=32, choices=Reason.choices)
    note = models.TextField(_("note"), blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    stock_after = models.IntegerField(_("stock after"))
    created_at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        ordering = ["created_at", "id"]
        indexes = [
            # A variant's history, newest first: one backward scan of this index.
            models.Index(fields=["variant", "id"], name="catalog_stockmovement_history"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(delta=0), name="catalog_stockmovement_delta_not_zero"
            ),
            models.CheckConstraint(
                condition=Q(reason__in=StockMovementReason.values),
                name="catalog_stockmovement_reason_valid",
            ),
            models.CheckConstraint(
                condition=Q(stock_after__gte=0),
                name="catalog_stockmovement_stock_after_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.variant_id}: {self.delta:+d} ({self.reason})"


class ProductImage(BaseModel):
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="images", verbose_name=_("product")
    )
    image = models.ImageField(
        _("image"),
        upload_to="products/%Y/%m/",
        validators=[validate_product_image],
        help_text=_("JPEG, PNG, WebP or GIF; its size and pixels are limited."),
    )
    # Made by a Celery task after the image is saved (catalog.services); empty until then.
    thumbnail = models.ImageField(
        _("thumbnail"), upload_to="products/thumbs/%Y/%m/", blank=True, editable=False
    )
    # Why no thumbnail could be made of this image (it cannot be decoded); the sweeper skips it.
    thumbnail_error = models.CharField(
        _("thumbnail error"), max_length=255, blank=True, default="", db_default="", editable=False
    )
    alt_text = models.CharField(_("alternative text"), max_length=200, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("product image")
        verbose_name_plural = _("product images")
        ordering = ["position", "id"]
        indexes = [
            # The thumbnail sweeper's few rows, without scanning every image.
            models.Index(
                fields=["updated_at"],
                condition=Q(thumbnail="", thumbnail_error=""),
                name="catalog_productimage_unthumbed",
            ),
        ]

    def __str__(self) -> str:
        return self.alt_text or self.image.name


class ProductAttribute(models.Model):
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="attributes", verbose_name=_("product")
    )
    name = models.CharField(_("name"), max_length=80)
    value = models.CharField(_("value"), max_length=200)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("attribute")
        verbose_name_plural = _("attributes")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "name"], name="catalog_productattribute_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}: {self.value}"


class SearchWord(models.Model):
    """A word of the catalog's product names, with the number of active products whose
    name holds it: what search corrects typed words against, "did you mean" suggests and
    autocomplete completes (catalog.search). Product saves add their words at once;
    `search_words_rebuild` recounts the frequencies (and drops vanished words) nightly."""

    word = models.CharField(_("word"), max_length=100, primary_key=True)
    frequency = models.PositiveIntegerField(_("products"), default=0)

    class Meta:
        verbose_name = _("search word")
        verbose_name_plural = _("search words")
        indexes = [
            # Typo candidates by trigram similarity (`word % 'hedphones'`).
            GinIndex(fields=["word"], opclasses=["gin_trgm_ops"], name="catalog_searchword_trgm"),
            # Completions of a typed prefix (`word LIKE 'hea%'`), whatever the collation.
            models.Index(
                fields=["word"], opclasses=["varchar_pattern_ops"], name="catalog_searchword_prefix"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(word=models.functions.Lower("word")) & ~Q(word=""),
                name="catalog_searchword_lower_not_blank",
            ),
        ]

    def __str__(self) -> str:
        return self.word
