"""Storefront and experiment-management API (thin views over services and selectors)."""

from __future__ import annotations

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
from experiments.models import UNIT_MAX_LENGTH, Experiment, Variant
from experiments.serializers import AssignmentSerializer, ExperimentDetailSerializer, ExperimentSerializer


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
        # A draft does not exist for storefronts: its copy may still be unapproved.
        experiment = get_object_or_404(_experiments().exclude(status=Experiment.Status.DRAFT), key=key)
        return Response(growthbook_config(experiment))


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
        responses={201: ExperimentDetailSerializer, 400: ERROR_SCHEMA},
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
        return Response(
            ExperimentDetailSerializer(_experiment_or_404(experiment.key)).data, status=status.HTTP_201_CREATED
        )


class ExperimentDetailView(APIView):
    permission_classes = (MarketerWritesAnalystReads,)

    @extend_schema(operation_id="experiments_retrieve", responses={200: ExperimentDetailSerializer, 404: ERROR_SCHEMA})
    def get(self, request: Request, key: str) -> Response:
        return Response(ExperimentDetailSerializer(_experiment_or_404(key)).data)

    @extend_schema(
        operation_id="experiments_partial_update",
        request=ExperimentSerializer,
        responses={200: ExperimentDetailSerializer, 400: ERROR_SCHEMA, 404: ERROR_SCHEMA, 409: ERROR_SCHEMA},
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
        return Response(ExperimentDetailSerializer(_experiment_or_404(key)).data)


class ExperimentTransitionView(APIView):
    """POST /experiments/KEY/start|pause|stop."""

    permission_classes = (MarketerWritesAnalystReads,)
    transitions = {
        "start": services.experiment_start,
        "pause": services.experiment_pause,
        "stop": services.experiment_stop,
    }
    action: str = "start"

    @extend_schema(request=None, responses={200: ExperimentDetailSerializer, 404: ERROR_SCHEMA, 409: ERROR_SCHEMA})
    def post(self, request: Request, key: str) -> Response:
        experiment = _experiment_or_404(key)
        self.transitions[self.action](experiment=experiment, user=request.user)
        return Response(ExperimentDetailSerializer(_experiment_or_404(key)).data)
