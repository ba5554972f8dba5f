from django.urls import path

from cart import views

app_name = "cart"
urlpatterns = [
    path("", views.cart_detail_view, name="detail"),
    path("add/", views.cart_add_view, name="add"),
    path("lines/<int:line_id>/update/", views.cart_update_view, name="update"),
    path("lines/<int:line_id>/remove/", views.cart_remove_view, name="remove"),
]
