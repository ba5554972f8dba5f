from django.urls import path

from reviews.api import views

urlpatterns = [
    path(
        "products/<id:pk>/reviews/",
        views.ProductReviewListApi.as_view(),
        name="api-product-reviews",
    ),
    path(
        "products/<id:pk>/recommendations/",
        views.ProductRecommendationListApi.as_view(),
        name="api-product-recommendations",
    ),
]
