"""Report API routes, included by abplatform.urls under api/v1/."""

from django.urls import path

from analytics import api

urlpatterns = [
    path("experiments/<slug:key>/report", api.ExperimentReportView.as_view(), name="experiment-report"),
    path("experiments/<slug:key>/report.csv", api.ExperimentReportCsvView.as_view(), name="experiment-report-csv"),
]
