from django.urls import path

from catalog import views

app_name = "catalog"
urlpatterns = [
    path("", views.home_view, name="home"),
    path("products/", views.product_list_view, name="product_list"),
    path("c/<slug:slug>/", views.category_view, name="category"),
    path("p/<slug:slug>/", views.product_detail_view, name="product"),
    path("search/", views.search_view, name="search"),
]
