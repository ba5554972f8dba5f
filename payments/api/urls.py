from django.urls import path

from payments.api import views

urlpatterns = [
    path(
        "orders/<order_number:number>/payments/",
        views.PaymentListCreateApi.as_view(),
        name="api-order-payments",
    ),
    # Cancelling refunds a paid order: payments' floor (orders never calls payments).
    path(
        "orders/<order_number:number>/cancel/",
        views.OrderCancelApi.as_view(),
        name="api-order-cancel",
    ),
]
