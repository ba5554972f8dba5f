from django.urls import path

from payments import views

app_name = "payments"
urlpatterns = [
    path("webhooks/<name:provider>/", views.webhook_view, name="webhook"),
    path("sandbox/<signed_token:token>/", views.sandbox_payment_view, name="sandbox"),
]
