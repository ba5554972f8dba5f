from django.urls import path

from fulfilment.api import views

urlpatterns = [
    path(
        "orders/<order_number:number>/shipments/",
        views.OrderShipmentListApi.as_view(),
        name="api-order-shipments",
    ),
    path(
        "orders/<order_number:number>/returns/",
        views.OrderReturnListCreateApi.as_view(),
        name="api-order-returns",
    ),
    path(
        "orders/<order_number:number>/returns/<id:return_id>/cancel/",
        views.OrderReturnCancelApi.as_view(),
        name="api-order-return-cancel",
    ),
    path("staff/orders/", views.StaffOrderListApi.as_view(), name="api-staff-orders"),
    path(
        "staff/orders/<order_number:number>/shipments/",
        views.StaffShipmentCreateApi.as_view(),
        name="api-staff-order-shipments",
    ),
    path(
        "staff/orders/<order_number:number>/cancel-lines/",
        views.StaffCancelLinesApi.as_view(),
        name="api-staff-order-cancel-lines",
    ),
    path("staff/returns/", views.StaffReturnListApi.as_view(), name="api-staff-returns"),
    path(
        "staff/returns/<id:return_id>/approve/",
        views.StaffReturnApproveApi.as_view(),
        name="api-staff-return-approve",
    ),
    path(
        "staff/returns/<id:return_id>/reject/",
        views.StaffReturnRejectApi.as_view(),
        name="api-staff-return-reject",
    ),
    path(
        "staff/returns/<id:return_id>/receive/",
        views.StaffReturnReceiveApi.as_view(),
        name="api-staff-return-receive",
    ),
]
