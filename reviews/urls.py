from django.urls import path

from reviews import views

app_name = "reviews"
urlpatterns = [
    path("p/<slug:slug>/reviews/", views.review_create_view, name="create"),
]
