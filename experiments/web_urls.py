"""Non-API routes of the experiments app, mounted at the site root: `path("", include("experiments.web_urls"))`."""

from django.urls import path

from experiments import views

urlpatterns = [
    path("tracker.js", views.tracker_js, name="tracker-js"),
]
