from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.exceptions import NotAuthenticated
from rest_framework.renderers import JSONRenderer


class ApiSchemaView(SpectacularAPIView):
    """The OpenAPI schema, for the roles (SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]). A refusal is
    JSON in the API's error shape, not a YAML document that happens to hold an error."""

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        self.request.accepted_renderer, self.request.accepted_media_type = JSONRenderer(), "application/json"
        return response


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI, for the roles like the schema (SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]); an
    anonymous browser is sent to the admin login instead of a bare 401 page. The split view loads
    its start-up script from `?script` instead of an inline block: the CSP allows no inline script."""

    def handle_exception(self, exc):
        if isinstance(exc, NotAuthenticated):
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)


api_v1 = [
    path("", include("experiments.urls")),
    path("", include("ingest.urls")),
    path("", include("generator.urls")),
    path("", include("analytics.urls")),
]

site_pages = [
    path("", include("experiments.web_urls")),  # the tracker script, the copy review page
    path("", include("generator.web_urls")),  # the review page's "Regenerate"
    path("", include("demo.web_urls")),  # the demo store
    path("reports/", include("analytics.web_urls")),
]

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    *site_pages,
    path("api/v1/", include(api_v1)),
    path("api/schema/", ApiSchemaView.as_view(), name="schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="schema"), name="api-docs"),
]

# Unrouted URLs under /api/ answer JSON like the rest of the API (Django's HTML page elsewhere).
handler404 = "abplatform.api_errors.not_found"
