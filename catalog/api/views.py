"""Catalog API: anonymous reads of categories and products (API.md "Catalog")."""

from functools import partial

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import search, selectors
from catalog.api.facets import ProductPagination
from catalog.api.filters import PRODUCT_API_QUERY, ProductApiFilter, ProductFilterBackend
from catalog.api.serializers import (
    CategorySerializer,
    ProductDetailSerializer,
    ProductListSerializer,
    ProductSuggestionSerializer,
    SuggestQuerySerializer,
)
from catalog.facets import (
    ATTRIBUTE_FILTERS_MAX,
    ATTRIBUTE_PREFIX,
    RATING_STEPS,
    page_shows_facets,
    product_facets,
)
from catalog.versions import (
    LISTS,
    card_version,
    page_shows_cards,
    product_list_versions,
    product_version,
)
from shop.core import pagecache
from shop.core.api import AnonymousCacheMixin
from shop.core.fragments import VersionedCountPaginator, fragments_get_or_build, now_ms
from shop.core.pagecache import page_depends_on, versions_current

# A product's API representation is kept this long at most (it holds absolute URLs, so it
# is kept per host and scheme too).
PRODUCT_LIST_ITEM_TIMEOUT = settings.PAGE_CACHE_TIMEOUT


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
        # The count of a filter is cached while the lists it depends on are unchanged.
        self.paginator.django_paginator_class = partial(  # type: ignore[union-attr]
            VersionedCountPaginator,
            versions=product_list_versions(self.request.query_params),
        )
        page = super().paginate_queryset(queryset)
        page_shows_cards(
            self.request, page or [], lists=product_list_versions(self.request.query_params)
        )
        query = self.request.query_params.get("q", "").strip()
        paginator = self.paginator
        if query and isinstance(paginator, ProductPagination):
            shown = paginator.page
            if shown is not None and not shown.paginator.count:
                paginator.did_you_mean = search.did_you_mean(query)
        return page

    def list(self, request, *args, **kwargs):
        # Each product's representation is what its card shows: cached per card version,
        # so a logged-in client or a filter combination nobody asked for before serializes
        # only the products whose card changed.
        started_ms = now_ms()
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        items = fragments_get_or_build(
            page or [],
            kind="api-product-list",
            version=lambda product: card_version(product.pk),
            build=lambda product: dict(self.get_serializer(product).data),
            started_ms=started_ms,
            timeout=PRODUCT_LIST_ITEM_TIMEOUT,
            extra=f"{request.scheme}://{request.get_host()}",
        )
        return self.get_paginated_response(items)

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
        return selectors.product_get_for_api(pk=self.kwargs["pk"])

    def retrieve(self, request, *args, **kwargs):
        # Cached per product version (deactivation, price, variants, stock crossing zero
        # bump it) for STOCK_CACHE_TIMEOUT at most, as the page cache keeps it: exact stock
        # counts change without a bump. A hit runs no query.
        pk = int(self.kwargs["pk"])
        started_ms = now_ms()
        # An id whose version Redis does not hold is looked up first: a 404 must not leave
        # a version behind for every id a client tries.
        product = None if versions_current([product_version(pk)]) else self.get_object()
        page_depends_on(request, product_version(pk))
        [data] = fragments_get_or_build(
            [pk],
            kind="api-product",
            version=product_version,
            build=lambda _: dict(self.get_serializer(product or self.get_object()).data),
            started_ms=started_ms,
            timeout=settings.STOCK_CACHE_TIMEOUT,
            extra=f"{request.scheme}://{request.get_host()}",
        )
        return Response(data)


@extend_schema(
    summary="Suggest products",
    description=(
        "Up to 10 products for what a shopper has typed so far, best rated first: the last "
        "word may be unfinished (`headph`), and typos are forgiven as in `q` of the product "
        "list. An empty `q` gives an empty list."
    ),
    parameters=[SuggestQuerySerializer],
    responses=ProductSuggestionSerializer(many=True),
)
class ProductSuggestApi(AnonymousCacheMixin, APIView):
    permission_classes = [AllowAny]
    anonymous_cache_query = {"q": pagecache.text(max_length=search.SUGGEST_MAX_LENGTH)}

    def get(self, request: Request) -> Response:
        params = SuggestQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        products = search.product_suggestions(params.validated_data["q"])
        page_shows_cards(request, products, lists=[LISTS])
        return Response(ProductSuggestionSerializer(products, many=True).data)
