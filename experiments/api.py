"""Storefront and experiment-management API (thin views over services and selectors)."""

from __future__ import annotations

import json

from django.conf import settings
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from abplatform.api_errors import ERROR_SCHEMA
from abplatform.roles import MarketerWritesAnalystReads
from experiments import services
from experiments.assignment import assign_variant, growthbook_config
from experiments.ingest import EVENT_TYPES, MAX_REVENUE, BrokerUnavailable, events_accept
from experiments.models import UNIT_MAX_LENGTH, Experiment, Variant
from experiments.ratelimit import rate_limit_check
from experiments.serializers import AssignmentSerializer, ExperimentSerializer
from experiments.writekeys import write_key_authenticate


def _experiments():
    return Experiment.objects.select_related("product__category", "owner").prefetch_related(
        Prefetch("variants", queryset=Variant.objects.select_related("approved_by"))
    )


def _experiment_or_404(key: str) -> Experiment:
    return get_object_or_404(_experiments(), key=key)


def _variant_rows(validated: list[dict]) -> list[dict]:
    return [dict(row) for row in validated]


class AssignView(APIView):
    """Which copy a visitor sees. Public: storefronts call it from the browser."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(
        operation_id="assign",
        parameters=[
            OpenApiParameter("experiment", str, required=True, description="Experiment key"),
            OpenApiParameter("unit", str, required=True, description=f"Visitor id, 1–{UNIT_MAX_LENGTH} characters"),
        ],
        responses={200: AssignmentSerializer, 400: ERROR_SCHEMA, 404: ERROR_SCHEMA},
    )
    def get(self, request: Request) -> Response:
        key = request.query_params.get("experiment", "")
        unit = request.query_params.get("unit", "")
        errors = {}
        if not key:
            errors["experiment"] = "this query parameter is required"
        if not unit:
            errors["unit"] = "this query parameter is required"
        elif len(unit) > UNIT_MAX_LENGTH:
            errors["unit"] = f"at most {UNIT_MAX_LENGTH} characters (got {len(unit)})"
        if errors:
            return Response({"error": "invalid query: " + ", ".join(errors), "fields": errors}, status=400)
        assignment = assign_variant(experiment_key=key, unit=unit)
        if assignment is None:
            return Response({"error": f"experiment {key!r} not found"}, status=404)
        return Response(assignment.as_dict())


class ExperimentConfigView(APIView):
    """GrowthBook-style definition so a storefront SDK can assign locally. Public."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(operation_id="experiment_config", responses={200: dict, 404: ERROR_SCHEMA})
    def get(self, request: Request, key: str) -> Response:
        return Response(growthbook_config(_experiment_or_404(key)))


class ExperimentListView(APIView):
    permission_classes = (MarketerWritesAnalystReads,)

    @extend_schema(
        operation_id="experiments_list",
        parameters=[OpenApiParameter("status", str, enum=Experiment.Status.values, description="Only this status")],
        responses={200: ExperimentSerializer(many=True), 400: ERROR_SCHEMA},
    )
    def get(self, request: Request) -> Response:
        queryset = _experiments()
        if status_filter := request.query_params.get("status"):
            if status_filter not in Experiment.Status.values:
                allowed = ", ".join(Experiment.Status.values)
                return Response({"error": f"status must be one of {allowed}", "fields": {"status": "invalid"}}, 400)
            queryset = queryset.filter(status=status_filter)
        return Response(ExperimentSerializer(queryset, many=True).data)

    @extend_schema(
        operation_id="experiments_create",
        request=ExperimentSerializer,
        responses={201: ExperimentSerializer, 400: ERROR_SCHEMA},
    )
    def post(self, request: Request) -> Response:
        serializer = ExperimentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        experiment = services.experiment_create(
            owner=request.user,
            variants=_variant_rows(data.pop("variants", [])),
            **data,
        )
        return Response(ExperimentSerializer(_experiment_or_404(experiment.key)).data, status=status.HTTP_201_CREATED)


class ExperimentDetailView(APIView):
    permission_classes = (MarketerWritesAnalystReads,)

    @extend_schema(operation_id="experiments_retrieve", responses={200: ExperimentSerializer, 404: ERROR_SCHEMA})
    def get(self, request: Request, key: str) -> Response:
        return Response(ExperimentSerializer(_experiment_or_404(key)).data)

    @extend_schema(
        operation_id="experiments_partial_update",
        request=ExperimentSerializer,
        responses={200: ExperimentSerializer, 400: ERROR_SCHEMA, 404: ERROR_SCHEMA, 409: ERROR_SCHEMA},
    )
    def patch(self, request: Request, key: str) -> Response:
        experiment = _experiment_or_404(key)
        serializer = ExperimentSerializer(experiment, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "key" in data and data["key"] != experiment.key:
            return Response(
                {"error": "the key of an experiment cannot change", "fields": {"key": "read only"}}, status=400
            )
        data.pop("key", None)
        if "variants" in data:
            data["variants"] = _variant_rows(data["variants"])
        services.experiment_update(experiment=experiment, data=data, user=request.user)
        return Response(ExperimentSerializer(_experiment_or_404(key)).data)


class ExperimentTransitionView(APIView):
    """POST /experiments/KEY/start|pause|stop."""

    permission_classes = (MarketerWritesAnalystReads,)
    transitions = {
        "start": services.experiment_start,
        "pause": services.experiment_pause,
        "stop": services.experiment_stop,
    }
    action: str = "start"

    @extend_schema(request=None, responses={200: ExperimentSerializer, 404: ERROR_SCHEMA, 409: ERROR_SCHEMA})
    def post(self, request: Request, key: str) -> Response:
        experiment = _experiment_or_404(key)
        self.transitions[self.action](experiment=experiment, user=request.user)
        return Response(ExperimentSerializer(_experiment_or_404(key)).data)


EVENT_SCHEMA = {
    "type": "object",
    "properties": {
        "event_id": {"type": "string", "maxLength": 64},
        "type": {"type": "string", "enum": list(EVENT_TYPES)},
        "experiment": {"type": "string"},
        "unit": {"type": "string", "maxLength": UNIT_MAX_LENGTH},
        "ts": {"type": "string", "format": "date-time"},
        "revenue": {"type": "number", "minimum": 0, "maximum": MAX_REVENUE, "nullable": True},
        "variant": {"type": "string", "nullable": True},
    },
    "required": ["event_id", "type", "experiment", "unit", "ts"],
}
ACCEPTED_SCHEMA = {
    "type": "object",
    "properties": {
        "accepted": {"type": "integer"},
        "rejected": {
            "type": "array",
            "items": {"type": "object", "properties": {"index": {"type": "integer"}, "errors": {"type": "object"}}},
        },
    },
    "required": ["accepted", "rejected"],
}


def _error(status_code: int, message: str, **extra) -> Response:
    return Response({"error": message, **extra}, status=status_code)


class EventsView(APIView):
    """Storefront events. Authenticated by a write key, not a user: `Authorization: Bearer KEY`,
    or `write_key` in the body for `navigator.sendBeacon`, which cannot set headers."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    parser_classes = ()  # the body is read raw: size is checked before parsing

    @extend_schema(
        operation_id="events_ingest",
        request={
            "application/json": {
                "type": "object",
                "properties": {
                    "events": {"type": "array", "items": EVENT_SCHEMA, "maxItems": 500},
                    "write_key": {"type": "string"},
                },
                "required": ["events"],
            }
        },
        responses={
            202: ACCEPTED_SCHEMA,
            400: ERROR_SCHEMA,
            401: ERROR_SCHEMA,
            413: ERROR_SCHEMA,
            429: ERROR_SCHEMA,
            503: ERROR_SCHEMA,
        },
    )
    def post(self, request: Request) -> Response:
        max_bytes = settings.INGEST_MAX_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > max_bytes:
            return _error(413, f"body is over {max_bytes} bytes")
        body = request.body
        if len(body) > max_bytes:
            return _error(413, f"body is over {max_bytes} bytes")
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return _error(400, f"body is not valid JSON: {exc}")
        if not isinstance(payload, dict):
            return _error(400, 'body must be a JSON object {"events": [...]}', fields={"events": "required"})

        header = request.META.get("HTTP_AUTHORIZATION", "")
        clear = header[7:].strip() if header[:7].lower() == "bearer " else payload.get("write_key")
        write_key_id = write_key_authenticate(clear) if isinstance(clear, str) and clear else None
        if write_key_id is None:
            return _error(401, "missing, unknown or revoked write key", fields={"authorization": "invalid"})
        limit = rate_limit_check(write_key_id)
        if limit is not None:
            response = _error(429, "rate limit of this write key exceeded")
            response["Retry-After"] = str(limit)
            return response

        events = payload.get("events")
        if not isinstance(events, list) or not events:
            return _error(400, "events must be a non-empty list", fields={"events": "must be a non-empty list"})
        if len(events) > settings.INGEST_MAX_EVENTS:
            return _error(413, f"at most {settings.INGEST_MAX_EVENTS} events per request (got {len(events)})")
        try:
            result = events_accept(events=events, write_key_id=write_key_id)
        except BrokerUnavailable:
            response = _error(503, "event queue unavailable; nothing was accepted, retry later")
            response["Retry-After"] = "5"
            return response
        return Response({"accepted": result.accepted, "rejected": result.rejected}, status=status.HTTP_202_ACCEPTED)
