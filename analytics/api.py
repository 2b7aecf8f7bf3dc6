"""Report API: the lift report as JSON and as CSV (thin views over `services.report_build`)."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from abplatform.api_errors import ERROR_SCHEMA
from abplatform.roles import MarketerWritesAnalystReads
from analytics import services
from analytics.report.csv_export import report_csv
from analytics.report.options import CORRECTIONS, SEGMENTS, SEQUENTIAL_METHODS, report_options
from analytics.report.types import report_schema
from experiments.models import Experiment

# Generated from the report's dataclasses (analytics.report.jsonform): what `Report.to_dict()` writes.
REPORT_SCHEMA = report_schema()
ERROR_RESPONSES = {status: ERROR_SCHEMA for status in (400, 401, 403, 404)}
OPTION_PARAMETERS = [
    OpenApiParameter(
        "sequential_method", str, enum=list(SEQUENTIAL_METHODS), description="Sequential test (default cs)"
    ),
    OpenApiParameter("correction", str, enum=list(CORRECTIONS), description="Across-arm p-value adjustment"),
    OpenApiParameter(
        "segment",
        str,
        enum=list(SEGMENTS),
        description="Break every metric down by this unit attribute (one more entry in `breakdowns`; exploratory)",
    ),
]


def _experiment(key: str) -> Experiment:
    experiment = Experiment.objects.prefetch_related("products__category").filter(key=key).first()
    if experiment is None:
        raise NotFound(f"experiment {key!r} not found")
    return experiment


class CsvRenderer(BaseRenderer):
    """Lets clients that accept only text/csv reach the CSV view (and read its errors)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if isinstance(data, dict) and "error" in data:
            return ("error\n" + str(data["error"]).replace("\n", " ") + "\n").encode()
        return str(data).encode()


class ExperimentReportView(APIView):
    permission_classes = (MarketerWritesAnalystReads,)

    @extend_schema(
        operation_id="experiment_report",
        summary="Lift report of an experiment",
        parameters=OPTION_PARAMETERS,
        responses={200: REPORT_SCHEMA, **ERROR_RESPONSES},
    )
    def get(self, request: Request, key: str) -> Response:
        experiment = _experiment(key)
        report = services.report_build(experiment=experiment, options=report_options(request.query_params))
        return Response(report.to_dict())


class ExperimentReportCsvView(APIView):
    permission_classes = (MarketerWritesAnalystReads,)
    renderer_classes = (JSONRenderer, CsvRenderer)

    @extend_schema(
        operation_id="experiment_report_csv",
        summary="Lift report as CSV: one row per variant and metric",
        parameters=OPTION_PARAMETERS,
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV with a header row"),
            **ERROR_RESPONSES,
        },
    )
    def get(self, request: Request, key: str) -> HttpResponse:
        experiment = _experiment(key)
        report = services.report_build(
            experiment=experiment,
            options=report_options(request.query_params),
            with_timeseries=False,
            with_novelty=True,
        )
        response = HttpResponse(report_csv(report), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{experiment.key}-report.csv"'
        return response
