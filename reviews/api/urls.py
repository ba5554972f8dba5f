from django.urls import path

from reviews.api import views

urlpatterns = [
    path(
        "products/<id:pk>/reviews/",
        views.ProductReviewListApi.as_view(),
        name="api-product-reviews",
    ),
    path(
        "staff/reviews/<id:pk>/reply/",
        views.StaffReviewReplyCreateApi.as_view(),
        name="api-staff-review-reply",
    ),
    path(
        "products/<id:pk>/recommendations/",
        views.ProductRecommendationListApi.as_view(),
        name="api-product-recommendations",
    ),
]
