from django.urls import path

from payments import views

app_name = "payments"
urlpatterns = [
    path("webhooks/<str:provider>/", views.webhook_view, name="webhook"),
    path("sandbox/<str:token>/", views.sandbox_payment_view, name="sandbox"),
]
