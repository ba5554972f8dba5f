from django.urls import path

from payments.api import views

urlpatterns = [
    path(
        "orders/<str:number>/payments/",
        views.PaymentListCreateApi.as_view(),
        name="api-order-payments",
    ),
]
