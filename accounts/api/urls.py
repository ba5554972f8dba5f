from django.urls import path

from accounts.api import views

urlpatterns = [
    path("auth/register/", views.UserRegisterApi.as_view(), name="api-auth-register"),
    path("auth/token/", views.TokenObtainApi.as_view(), name="api-auth-token"),
    path("auth/token/refresh/", views.TokenRefreshApi.as_view(), name="api-auth-token-refresh"),
    path("auth/token/revoke/", views.TokenRevokeApi.as_view(), name="api-auth-token-revoke"),
    path("me/", views.MeApi.as_view(), name="api-me"),
    path("me/addresses/", views.AddressListCreateApi.as_view(), name="api-address-list"),
    path(
        "me/addresses/<id:address_id>/",
        views.AddressDetailApi.as_view(),
        name="api-address-detail",
    ),
]
