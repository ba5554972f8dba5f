"""The product filters of `products/`, strict where an HTML form would be lenient."""

import django_filters
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend

from catalog.filters import PRODUCT_LIST_QUERY, ProductFilter
from shop.core import pagecache
from shop.core.api import PAGINATION_QUERY


class ProductApiFilter(ProductFilter):
    # The HTML form's checkbox sends "on" and takes anything as true; an API client gets a
    # 400 for a value that is not a boolean instead of a silently different answer.
    in_stock = django_filters.TypedChoiceFilter(
        label=_("In stock only"),
        method="filter_in_stock",
        choices=[("true", "true"), ("false", "false")],
        coerce=lambda value: value == "true",
    )

    def is_valid(self):
        # A parameter given with no value is not "not given": the schema describes each one
        # as a number, slug, id or choice, so `?ordering=` is a 400 like `?ordering=bogus`.
        valid = super().is_valid()
        for name in self.filters:
            if name != "q" and self.data.get(name) == "":
                self.form.add_error(name, _("This field may not be blank."))
                valid = False
        return valid


# As the list pages', but as the API spells them: `in_stock` is true or false, and an empty
# value is a 400 (never stored) except for `q`.
PRODUCT_API_QUERY: dict[str, pagecache.Param] = {
    **PRODUCT_LIST_QUERY,
    **PAGINATION_QUERY,
    "in_stock": pagecache.choice("true", "false"),
}


class ProductFilterBackend(DjangoFilterBackend):
    """DjangoFilterBackend that leaves its filterset on the view (`product_filter`), whose
    facet candidates and selection the `facets` of the page are counted from."""

    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        view.product_filter = filterset
        return filterset
