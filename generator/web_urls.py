"""Non-API routes of the generator, mounted at the site root: `path("", include("generator.web_urls"))`: the
"Regenerate" action of the copy review page (experiments.web_urls)."""

from django.urls import path

from generator import views

urlpatterns = [
    path(
        "experiments/<slug:key>/variants/<slug:variant>/regenerate",
        views.variant_regenerate,
        name="variant-regenerate",
    ),
]
