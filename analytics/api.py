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

from abplatform.roles import MarketerWritesAnalystReads
from analytics import services
from analytics.report import CORRECTIONS, DECISIONS, SEQUENTIAL_METHODS, report_csv, report_options
from experiments.models import Experiment

ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "fields": {"type": "object"}},
    "required": ["error"],
}
_NUMBER = {"type": "number", "nullable": True}
_INTERVAL = {"type": "array", "items": _NUMBER, "minItems": 2, "maxItems": 2, "nullable": True}
LIFT_SCHEMA = {
    "type": "object",
    "nullable": True,
    "description": "Treatment vs control (null for the control). Relative lifts and intervals are fractions "
    "(0.125 = +12.5 %). `ci`: fixed-horizon interval; `sequential_ci`: always-valid interval of the sequential "
    "test at the latest look. p-values, `significant` and the decision use the lift named by `scale`.",
    "properties": {
        "absolute": _NUMBER,
        "relative": _NUMBER,
        "ci": _INTERVAL,
        "ci_absolute": _INTERVAL,
        "scale": {"type": "string", "enum": ["relative", "absolute"]},
        "p_value": _NUMBER,
        "p_value_adjusted": _NUMBER,
        "sequential_ci": _INTERVAL,
        "sequential_ci_absolute": _INTERVAL,
        "sequential_p_value": _NUMBER,
        "sequential_p_value_adjusted": _NUMBER,
        "sequential_decision": {
            "type": "string",
            "nullable": True,
            "enum": ["stop_increase", "stop_decrease", "continue", "stop_no_effect", None],
        },
        "chance_to_beat_control": _NUMBER,
        "expected_loss": _NUMBER,
        "significant": {"type": "boolean", "description": "fixed-horizon, adjusted p < alpha"},
        "sequential_significant": {"type": "boolean", "description": "sequential, adjusted p < alpha, past burn-in"},
        "warning": {"type": "string", "nullable": True},
        "error": {"type": "string", "nullable": True},
    },
}
METRIC_SCHEMA = {"type": "object", "properties": {"value": _NUMBER, "lift": LIFT_SCHEMA}}
REPORT_SCHEMA = {
    "type": "object",
    "properties": {
        "experiment": {"type": "string"},
        "name": {"type": "string"},
        "status": {"type": "string", "enum": list(Experiment.Status.values)},
        "primary_metric": {"type": "string"},
        "computed_at": {"type": "string", "format": "date-time"},
        "started_at": {"type": "string", "format": "date-time", "nullable": True},
        "days_running": _NUMBER,
        "alpha": {"type": "number"},
        "sequential_method": {"type": "string", "enum": list(SEQUENTIAL_METHODS)},
        "correction": {"type": "string", "enum": list(CORRECTIONS)},
        "units": {"type": "integer"},
        "srm": {
            "type": "object",
            "properties": {
                "p_value": _NUMBER,
                "flag": {"type": "boolean"},
                "observed": {"type": "object", "additionalProperties": {"type": "integer"}},
                "expected": {"type": "object", "additionalProperties": _NUMBER},
            },
        },
        "variants": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "key": {"type": "string"},
                    "is_control": {"type": "boolean"},
                    "lambda": _NUMBER,
                    "copy": {"type": "string"},
                    "diversity": _NUMBER,
                    "units": {"type": "integer"},
                    "impressions": {"type": "integer"},
                    "clicks": {"type": "integer"},
                    "add_to_carts": {"type": "integer"},
                    "orders": {"type": "integer"},
                    "revenue": _NUMBER,
                    "metrics": {
                        "type": "object",
                        "description": "ctr, cvr, click_to_order, atc_rate, orders_per_unit, revenue_per_unit",
                        "additionalProperties": METRIC_SCHEMA,
                    },
                },
            },
        },
        "decision": {
            "type": "object",
            "properties": {
                "status": {"type": "string", "enum": list(DECISIONS)},
                "winner": {"type": "string", "nullable": True},
                "metric": {"type": "string"},
                "text": {"type": "string"},
                "days_left": _NUMBER,
            },
        },
        "timeseries": {
            "type": "array",
            "description": "One cumulative look per day (snapshots; the last one is the live totals).",
            "items": {
                "type": "object",
                "properties": {
                    "day": {"type": "string", "format": "date"},
                    "taken_at": {"type": "string", "format": "date-time"},
                    "source": {"type": "string", "enum": ["totals", "events", "live"]},
                    "units": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "new_units": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "lift": {"type": "object", "description": "metric → treatment key → relative, sequential_ci"},
                },
            },
        },
    },
    "required": ["experiment", "status", "computed_at", "alpha", "sequential_method", "srm", "variants", "decision"],
}
OPTION_PARAMETERS = [
    OpenApiParameter(
        "sequential_method", str, enum=list(SEQUENTIAL_METHODS), description="Sequential test (default cs)"
    ),
    OpenApiParameter("correction", str, enum=list(CORRECTIONS), description="Across-arm p-value adjustment"),
]


def _experiment(key: str) -> Experiment:
    experiment = Experiment.objects.select_related("product__category").filter(key=key).first()
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
        responses={200: REPORT_SCHEMA, 400: ERROR_SCHEMA, 401: ERROR_SCHEMA, 403: ERROR_SCHEMA, 404: ERROR_SCHEMA},
    )
    def get(self, request: Request, key: str) -> Response:
        experiment = _experiment(key)
        report = services.report_build(experiment=experiment, options=report_options(request.query_params))
        return Response(report)


class ExperimentReportCsvView(APIView):
    permission_classes = (MarketerWritesAnalystReads,)
    renderer_classes = (JSONRenderer, CsvRenderer)

    @extend_schema(
        operation_id="experiment_report_csv",
        summary="Lift report as CSV: one row per variant and metric",
        parameters=OPTION_PARAMETERS,
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV with a header row"),
            400: ERROR_SCHEMA,
            401: ERROR_SCHEMA,
            403: ERROR_SCHEMA,
            404: ERROR_SCHEMA,
        },
    )
    def get(self, request: Request, key: str) -> HttpResponse:
        experiment = _experiment(key)
        report = services.report_build(
            experiment=experiment, options=report_options(request.query_params), with_timeseries=False
        )
        response = HttpResponse(report_csv(report), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{experiment.key}-report.csv"'
        return response
