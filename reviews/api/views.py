"""Reviews and recommendations API (API.md "Catalog")."""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticatedOrReadOnly
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.api.serializers import ProductListSerializer
from catalog.versions import page_shows_product
from reviews import selectors, services
from reviews.api.serializers import (
    ReviewCreateInputSerializer,
    ReviewOutputSerializer,
    ReviewReplyCreateInputSerializer,
    ReviewReplyOutputSerializer,
)
from shop.core.api import PAGINATION_QUERY, AnonymousCacheMixin
from shop.core.serializers import error_response

NOT_FOUND = {404: error_response("No active product has this id (`not_found`).")}


class ProductReviewListApi(AnonymousCacheMixin, ListAPIView):
    """GET lists a product's published reviews; POST adds the caller's review.

    Anonymous lists are shared through the page cache; any review written or moderated
    bumps its product's version on commit, so a cached list never outlives a change."""

    permission_classes = [IsAuthenticatedOrReadOnly]
    serializer_class = ReviewOutputSerializer
    filter_backends = []
    anonymous_cache_query = PAGINATION_QUERY

    def get_queryset(self):
        product = selectors.product_get_for_reviews(pk=self.kwargs["pk"])
        page_shows_product(self.request, product)
        return selectors.review_list_for_product(product_id=product.pk)

    @extend_schema(
        operation_id="products_reviews_list",
        summary="List a product's reviews",
        description="Published reviews, newest first, paginated.",
        responses={200: ReviewOutputSerializer(many=True), **NOT_FOUND},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="products_reviews_create",
        summary="Review a product you bought",
        request=ReviewCreateInputSerializer,
        responses={
            201: ReviewOutputSerializer,
            400: error_response(
                "Invalid input (`invalid`, with `fields`): a rating outside 1..5, an empty "
                "title, or text too long."
            ),
            403: error_response(
                "`not_purchased`: only a shopper with a paid order holding the product may "
                "review it."
            ),
            409: error_response("`already_reviewed`: one review per shopper and product."),
            **NOT_FOUND,
        },
        description=(
            "Adds your review. It is published at once unless the shop holds new reviews for "
            "approval; `rating_avg`/`rating_count` follow within seconds."
        ),
    )
    def post(self, request, pk: int):
        product = selectors.product_get_for_reviews(pk=pk)
        serializer = ReviewCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = services.review_create(
            user=request.user, product=product, **serializer.validated_data
        )
        return Response(ReviewOutputSerializer(review).data, status=status.HTTP_201_CREATED)


class ProductRecommendationListApi(AnonymousCacheMixin, APIView):
    anonymous_cache_timeout = settings.STOCK_CACHE_TIMEOUT  # cards show stock
    permission_classes = [IsAuthenticatedOrReadOnly]

    @extend_schema(
        operation_id="products_recommendations_list",
        summary="Products bought with this one",
        description=(
            "Up to 12 products that buyers of this product also bought, then the best-rated of "
            "its category; never the product itself, never inactive or out-of-stock products. "
            "Not paginated."
        ),
        responses={200: ProductListSerializer(many=True), **NOT_FOUND},
    )
    def get(self, request, pk: int):
        product = selectors.product_get_for_reviews(pk=pk)
        products = selectors.product_recommendations(product=product)
        selectors.product_recommendations_depend(request, product=product, shown=products)
        return Response(
            ProductListSerializer(products, many=True, context={"request": request}).data
        )


class StaffReviewReplyCreateApi(APIView):
    """POST: the merchant's one public reply to a review of its product (merchant staff)."""

    @extend_schema(
        operation_id="staff_reviews_reply_create",
        summary="Reply to a review of your merchant's product",
        description=(
            "Merchant staff answer a review of one of their merchant's products, publicly and "
            "once; the reply is shown under the review with the merchant's name. Hiding a "
            "review is for the shop's moderators, never a merchant's."
        ),
        request=ReviewReplyCreateInputSerializer,
        responses={
            201: ReviewReplyOutputSerializer,
            400: error_response("Invalid input (`invalid`, with `fields`): an empty or long body."),
            403: error_response("`not_merchant_staff`: you are not the staff of any merchant."),
            404: error_response(
                "`not_found`: no such review, or a review of another merchant's product."
            ),
            409: error_response("`already_replied`: a review gets one reply."),
        },
    )
    def post(self, request, pk: int):
        # The guard first, so who may not reply learns that before anything about the body.
        services.review_reply_target(review_id=pk, by=request.user)
        serializer = ReviewReplyCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reply = services.review_reply_create(
            review_id=pk, by=request.user, body=serializer.validated_data["body"]
        )
        return Response(ReviewReplyOutputSerializer(reply).data, status=status.HTTP_201_CREATED)
