"""Catalog API: anonymous reads of categories and products (API.md "Catalog")."""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.permissions import AllowAny

from catalog import selectors
from catalog.api.facets import ProductPagination
from catalog.api.filters import PRODUCT_API_QUERY, ProductApiFilter, ProductFilterBackend
from catalog.api.serializers import (
    CategorySerializer,
    ProductDetailSerializer,
    ProductListSerializer,
)
from catalog.facets import (
    ATTRIBUTE_FILTERS_MAX,
    ATTRIBUTE_PREFIX,
    RATING_STEPS,
    page_shows_facets,
    product_facets,
)
from catalog.versions import page_shows_cards, page_shows_product, product_list_versions
from shop.core.api import AnonymousCacheMixin
from shop.core.pagecache import page_depends_on


@extend_schema(
    summary="List categories",
    description="Every category as a flat list; build the tree by `parent`. Not paginated.",
)
class CategoryListApi(AnonymousCacheMixin, ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = CategorySerializer
    pagination_class = None
    filter_backends = []

    def get_queryset(self):
        page_depends_on(self.request)  # categories only: what every cached answer follows
        return selectors.category_list()


@extend_schema(
    summary="List products",
    description=(
        "Active products, paginated. Without `q` the default order is `-created`; with `q` it "
        "is `relevance`. `-rating` ranks by a Bayesian average, so many good reviews beat one "
        "perfect one. An unknown `category` slug gives an empty page; an unknown `merchant` is "
        "a 400."
    ),
    parameters=[
        OpenApiParameter("q", str, description="Full-text search (typo-tolerant)."),
        OpenApiParameter(
            "category", str, description="Category slug; includes its sub-categories."
        ),
        OpenApiParameter(
            "min_price",
            {"type": "number", "minimum": 0},
            description="Lowest listed `price` (inclusive), e.g. `10.00`.",
        ),
        OpenApiParameter(
            "max_price",
            {"type": "number", "minimum": 0},
            description="Highest listed `price` (inclusive), e.g. `99.90`.",
        ),
        OpenApiParameter(
            "in_stock",
            OpenApiTypes.BOOL,
            description="`true`: only products with a variant in stock.",
        ),
        OpenApiParameter(
            "merchant", int, description="Merchant id; an id of no active merchant is a 400."
        ),
        OpenApiParameter(
            "min_rating",
            int,
            enum=list(RATING_STEPS),
            description="Average rating of at least this many stars (the `rating` facet).",
        ),
        OpenApiParameter(
            f"{ATTRIBUTE_PREFIX}<key>",
            str,
            description=(
                f"Products whose attribute `<key>` has this value, e.g. "
                f"`{ATTRIBUTE_PREFIX}colour=Red`; the key is the attribute's name in lower "
                "case, each run of other characters than a-z and 0-9 written as `-` "
                "(`Battery life`: `battery-life`), as the `attributes` facet lists them. "
                f"At most {ATTRIBUTE_FILTERS_MAX}; a malformed key, an empty value or more "
                "filters than that are a 400, an unknown key or value an empty page."
            ),
        ),
        OpenApiParameter(
            "ordering",
            str,
            enum=list(ProductApiFilter.ORDERINGS),
            description=(
                "`relevance` (default with `q`; without `q` it means `-created`), `price`, "
                "`-price`, `-rating` (Bayesian average), `-created` (default without `q`)."
            ),
        ),
    ],
)
class ProductListApi(AnonymousCacheMixin, ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = ProductListSerializer
    filter_backends = [ProductFilterBackend]
    filterset_class = ProductApiFilter
    pagination_class = ProductPagination
    anonymous_cache_query = PRODUCT_API_QUERY
    product_filter: ProductApiFilter  # set by ProductFilterBackend

    def get_queryset(self):
        return selectors.product_list()

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        page_shows_cards(
            self.request, page or [], lists=product_list_versions(self.request.query_params)
        )
        return page

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        facets = product_facets(
            candidates=self.product_filter.facet_candidates,
            selection=self.product_filter.facet_selection(),
        )
        page_shows_facets(self.request)
        response.data["facets"] = facets.as_api()
        return response


@extend_schema(summary="Get a product", description="An active product with its variants.")
class ProductDetailApi(AnonymousCacheMixin, RetrieveAPIView):
    anonymous_cache_timeout = settings.STOCK_CACHE_TIMEOUT  # shows stock counts
    permission_classes = [AllowAny]
    serializer_class = ProductDetailSerializer
    filter_backends = []

    def get_object(self):
        product = selectors.product_get_for_api(pk=self.kwargs["pk"])
        page_shows_product(self.request, product)
        return product
