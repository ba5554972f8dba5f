"""The product filters and orderings of API.md, shared by the list pages and `products/`."""

from collections.abc import Collection

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from catalog.facets import (
    ATTRIBUTE_FILTERS_MAX,
    ATTRIBUTE_PREFIX,
    ATTRIBUTE_VALUE_MAX_LENGTH,
    RATING_STEPS,
    FacetSelection,
    attribute_key_valid,
    facet_selection_from,
    product_filter_attribute,
)
from catalog.models import Merchant, Product
from catalog.selectors import category_tree
from shop.core import pagecache

# The filters a facet counts for (catalog.facets): every filter but the search and the sort.
FACET_FILTERS = frozenset(
    {"category", "merchant", "min_price", "max_price", "in_stock", "min_rating"}
)


def _is_facet_filter(name: str) -> bool:
    return name in FACET_FILTERS or name.startswith(ATTRIBUTE_PREFIX)


class AttributeFilter(django_filters.CharFilter):
    """`attribute_<key>=<value>`: products with that attribute (catalog.facets says how a
    name is keyed). Declared per request for the keys the query string gives."""

    def __init__(self, *, key: str, too_many: bool, **kwargs):
        self.key = key
        validators = [_attribute_key_validator(key, too_many=too_many)]
        super().__init__(
            label=key.replace("-", " ").capitalize() or _("Attribute"),
            max_length=ATTRIBUTE_VALUE_MAX_LENGTH,
            validators=validators,
            **kwargs,
        )

    def filter(self, qs, value):
        if not value:
            return qs
        return product_filter_attribute(qs, key=self.key, value=value)


def _attribute_key_validator(key: str, *, too_many: bool):
    def validate(value: str) -> None:
        if too_many:
            raise forms.ValidationError(
                _("At most %(count)d attribute filters."), params={"count": ATTRIBUTE_FILTERS_MAX}
            )
        if not attribute_key_valid(key):
            raise forms.ValidationError(_("Not an attribute name."))

    return validate


class ProductFilter(django_filters.FilterSet):
    ORDERINGS = {
        "relevance": ("-relevance", "-id"),
        "price": ("price_amount", "id"),
        "-price": ("-price_amount", "-id"),
        "-rating": ("-rating_score", "-rating_count", "-id"),
        "-created": ("-created_at", "-id"),
    }

    q = django_filters.CharFilter(
        label=_("Search"), method="filter_q", max_length=200, help_text=_("Full-text search")
    )
    category = django_filters.CharFilter(
        label=_("Category"),
        method="filter_category",
        help_text=_("Category slug; includes its sub-categories"),
    )
    min_price = django_filters.NumberFilter(
        label=_("Min price"), field_name="price_amount", lookup_expr="gte", min_value=0
    )
    max_price = django_filters.NumberFilter(
        label=_("Max price"), field_name="price_amount", lookup_expr="lte", min_value=0
    )
    in_stock = django_filters.BooleanFilter(
        label=_("In stock only"), method="filter_in_stock", widget=forms.CheckboxInput
    )
    merchant = django_filters.ModelChoiceFilter(
        label=_("Merchant"), queryset=Merchant.objects.filter(is_active=True)
    )
    min_rating = django_filters.TypedChoiceFilter(
        label=_("Rating"),
        method="filter_min_rating",
        choices=[(str(step), str(step)) for step in RATING_STEPS],
        coerce=int,
        help_text=_("Average rating at least this many stars"),
    )
    ordering = django_filters.ChoiceFilter(
        label=_("Sort by"),
        method="filter_ordering",
        empty_label=None,
        choices=[
            ("relevance", _("Relevance")),
            ("price", _("Price: low to high")),
            ("-price", _("Price: high to low")),
            ("-rating", _("Best rated")),
            ("-created", _("Newest")),
        ],
    )

    class Meta:
        model = Product
        fields: list[str] = []

    def __init__(self, data=None, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        # Bounded: one past the limit is enough to say there are too many.
        names = [name for name in (data or {}) if name.startswith(ATTRIBUTE_PREFIX)]
        for n, name in enumerate(names[: ATTRIBUTE_FILTERS_MAX + 1]):
            self.filters[name] = AttributeFilter(
                key=name[len(ATTRIBUTE_PREFIX) :], too_many=n >= ATTRIBUTE_FILTERS_MAX
            )
            self.filters[name].parent = self
            self.filters[name].model = self._meta.model

    def filter_q(self, queryset, name, value):
        value = value.strip()
        return queryset.search(value) if value else queryset

    def filter_category(self, queryset, name, value):
        tree = category_tree()
        node = tree.by_slug.get(value)
        if node is None:
            return queryset.none()
        return queryset.filter(category_id__in=tree.descendant_ids(node))

    def filter_in_stock(self, queryset, name, value):
        return queryset.filter(in_stock=True) if value else queryset

    @extend_schema_field(OpenApiTypes.INT)
    def filter_min_rating(self, queryset, name, value):
        return queryset.filter(rating_avg__gte=value) if value else queryset

    def filter_ordering(self, queryset, name, value):
        return queryset  # applied last, in `qs`, once we know whether there is a query

    def filter_queryset(self, queryset):
        # The facets count the products before their own filters: keep that queryset.
        cleaned = self.form.cleaned_data
        searching = bool(cleaned.get("q", "").strip())
        for name, value in cleaned.items():
            if not _is_facet_filter(name):
                queryset = self.filters[name].filter(queryset, value)
        self.facet_candidates = queryset.search_bounded() if searching else queryset
        for name, value in cleaned.items():
            if _is_facet_filter(name):
                queryset = self.filters[name].filter(queryset, value)
        # A search is bounded after every filter: the matches of a category or a price band
        # are not lost behind the first matches of the whole catalog.
        return queryset.search_bounded() if searching else queryset

    def facet_selection(self) -> FacetSelection:
        """The active facet filters (after `qs`): what catalog.facets counts under."""
        return facet_selection_from(self.form.cleaned_data)

    @property
    def qs(self):
        queryset = super().qs
        searching = bool(self.form.cleaned_data.get("q", "").strip())
        ordering = self.form.cleaned_data.get("ordering") or (
            "relevance" if searching else "-created"
        )
        if ordering == "relevance" and not searching:
            ordering = "-created"
        return queryset.order_by(*self.ORDERINGS[ordering])


def _category_slugs() -> Collection[str]:
    return category_tree().by_slug


# The query parameters of the list pages, as the page cache stores them (shop.core.pagecache):
# each once, canonically spelt; the form leaves unused fields empty. A merchant id or page
# number that is well formed but not served as asked is declined by the view.
PRODUCT_LIST_QUERY: dict[str, pagecache.Param] = {
    "q": pagecache.text(max_length=200),
    "category": pagecache.member(_category_slugs, blank=True),
    "min_price": pagecache.amount(blank=True),
    "max_price": pagecache.amount(blank=True),
    "in_stock": pagecache.choice("on", blank=True),
    "merchant": pagecache.whole_number(maximum=2**63 - 1, blank=True),
    "min_rating": pagecache.choice(*(str(step) for step in RATING_STEPS), blank=True),
    "ordering": pagecache.choice(*ProductFilter.ORDERINGS, blank=True),
    "page": pagecache.whole_number(),
    # `attribute_<key>`: up to ATTRIBUTE_FILTERS_MAX of them, well-formed keys, values as
    # free text is (open: their entries are budgeted like searches').
    f"{ATTRIBUTE_PREFIX}*": pagecache.prefixed(
        attribute_key_valid,
        pagecache.text(max_length=ATTRIBUTE_VALUE_MAX_LENGTH, blank=False),
        most=ATTRIBUTE_FILTERS_MAX,
    ),
}
