"""Non-API routes of the experiments app, mounted at the site root: `path("", include("experiments.web_urls"))`: the
tracker script and the copy review page."""

from django.urls import path

from experiments import views

urlpatterns = [
    path("tracker.js", views.tracker_js, name="tracker-js"),
    path("experiments/<slug:key>/variants/<slug:variant>/review", views.variant_review, name="variant-review"),
]
