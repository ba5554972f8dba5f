from django.urls import path

from orders.api import views

urlpatterns = [
    path("orders/", views.OrderListCreateApi.as_view(), name="api-order-list"),
    path("orders/<order_number:number>/", views.OrderDetailApi.as_view(), name="api-order-detail"),
    path(
        "staff/orders/<order_number:number>/acknowledge/",
        views.StaffOrderAcknowledgeApi.as_view(),
        name="api-staff-order-acknowledge",
    ),
]
