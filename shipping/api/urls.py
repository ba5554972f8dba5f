from django.urls import path

from shipping.api import views

urlpatterns = [
    path(
        "shipping-methods/",
        views.ShippingMethodListApi.as_view(),
        name="api-shipping-method-list",
    ),
]
