from django.urls import path

from orders import views

app_name = "orders"

urlpatterns = [
    path("checkout/", views.checkout_view, name="checkout"),
    path("checkout/shipping/", views.checkout_shipping_view, name="checkout_shipping"),
    path("orders/<str:number>/", views.order_detail_view, name="detail"),
    path("orders/<str:number>/cancel/", views.order_cancel_view, name="cancel"),
    path("orders/<str:number>/pay/", views.order_pay_view, name="pay"),
    path("accounts/orders/", views.order_history_view, name="history"),
]
