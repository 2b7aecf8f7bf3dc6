"""Report pages, mounted at /reports/ by abplatform.urls: `path("reports/", include("analytics.web_urls"))`.

`lambda/` comes before the experiment pattern, so an experiment keyed "lambda" has no page here
(its JSON report at /api/v1/experiments/lambda/report still works).
"""

from django.urls import path

from analytics import views

app_name = "reports"

urlpatterns = [
    path("", views.index, name="index"),
    path("plotly.js", views.plotly_js, name="plotly-js"),
    path("assets/<str:name>", views.asset, name="asset"),
    path("lambda/", views.lambda_page, name="lambda"),
    path("lambda/adopt", views.lambda_adopt, name="lambda-adopt"),
    path("<slug:key>/", views.detail, name="detail"),
]
