from django.urls import path

from catalog.api import views

urlpatterns = [
    path("categories/", views.CategoryListApi.as_view(), name="api-category-list"),
    path("products/", views.ProductListApi.as_view(), name="api-product-list"),
    path("products/suggest/", views.ProductSuggestApi.as_view(), name="api-product-suggest"),
    path("products/<id:pk>/", views.ProductDetailApi.as_view(), name="api-product-detail"),
]
