from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

api_v1 = [
    path("", include("experiments.urls")),
    path("", include("generator.urls")),
    path("", include("analytics.urls")),
]

site_pages = [
    path("", include("experiments.web_urls")),  # the tracker script and the demo store
    path("reports/", include("analytics.web_urls")),
]

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    *site_pages,
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

# Unrouted URLs under /api/ answer JSON like the rest of the API (Django's HTML page elsewhere).
handler404 = "abplatform.api_errors.not_found"
