from django.urls import path

from reviews.api import views

urlpatterns = [
    path(
        "products/<int:pk>/reviews/",
        views.ProductReviewListApi.as_view(),
        name="api-product-reviews",
    ),
    path(
        "staff/reviews/<int:pk>/reply/",
        views.StaffReviewReplyCreateApi.as_view(),
        name="api-staff-review-reply",
    ),
    path(
        "products/<int:pk>/recommendations/",
        views.ProductRecommendationListApi.as_view(),
        name="api-product-recommendations",
    ),
]
