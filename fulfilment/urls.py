from django.urls import path

from fulfilment import views

app_name = "fulfilment"
urlpatterns = [
    path("webhooks/<name:carrier>/", views.carrier_webhook_view, name="carrier_webhook"),
]
