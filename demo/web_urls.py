"""The demo store page, mounted at the site root."""

from django.urls import path

from demo import views

urlpatterns = [
    path("demo/store/", views.demo_store, name="demo-store"),
]
