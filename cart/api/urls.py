from django.urls import path

from cart.api import views

urlpatterns = [
    path("cart/", views.CartGetApi.as_view(), name="api-cart"),
    path("cart/lines/", views.CartLineAddApi.as_view(), name="api-cart-line-list"),
    path(
        "cart/lines/<id:line_id>/", views.CartLineDetailApi.as_view(), name="api-cart-line-detail"
    ),
]
