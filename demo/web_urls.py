"""The demo store pages (a product page, a listing), mounted at the site root."""

from django.urls import path

from demo import views

urlpatterns = [
    path("demo/store/", views.demo_store, name="demo-store"),
    path("demo/store/listing", views.demo_listing, name="demo-listing"),
]
