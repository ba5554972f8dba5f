"""The product filters and orderings of API.md, shared by the list pages and `products/`."""

from collections.abc import Collection

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from catalog.models import Merchant, Product
from catalog.selectors import category_tree
from shop.core import pagecache


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

    def filter_ordering(self, queryset, name, value):
        return queryset  # applied last, in `qs`, once we know whether there is a query

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
    "ordering": pagecache.choice(*ProductFilter.ORDERINGS, blank=True),
    "page": pagecache.whole_number(),
}
