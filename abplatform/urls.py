from importlib.util import find_spec

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

api_v1 = [path("", include("experiments.urls"))]
# Apps that later work adds register their API routes here when present.
for module in ("generator.urls", "analytics.urls"):
    if find_spec(module) is not None:
        api_v1.append(path("", include(module)))

site_pages = []
if find_spec("experiments.web_urls") is not None:
    site_pages.append(path("", include("experiments.web_urls")))
if find_spec("analytics.web_urls") is not None:
    site_pages.append(path("reports/", include("analytics.web_urls")))

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    *site_pages,
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
