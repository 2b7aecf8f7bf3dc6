"""Storefront and experiment-management API (thin views over services and selectors)."""

from __future__ import annotations

import hashlib
import json

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from abplatform.api_errors import ERROR_SCHEMA
from abplatform.roles import MarketerWritesAnalystReads, StorefrontView
from catalog.models import Product
from experiments import services
from experiments.assignment import assign_variant, copy_for_products, copy_map, growthbook_config, snapshot_cache_clear
from experiments.copies import variant_copies_review
from experiments.models import UNIT_MAX_LENGTH, Experiment, Variant, VariantCopy
from experiments.serializers import (
    AssignmentSerializer,
    ExperimentDetailSerializer,
    ExperimentSerializer,
    VariantCopySerializer,
)


def _experiments():
    return Experiment.objects.select_related("owner").prefetch_related(
        Prefetch("products", queryset=Product.objects.select_related("category")),
        Prefetch("variants", queryset=Variant.objects.prefetch_related("copies__reviewed_by")),
    )


def _experiment_or_404(key: str) -> Experiment:
    return get_object_or_404(_experiments(), key=key)


def _variant_rows(validated: list[dict]) -> list[dict]:
    return [dict(row) for row in validated]


class AssignView(StorefrontView):
    """Which copy a visitor sees. Public: storefronts call it from the browser."""

    @extend_schema(
        operation_id="assign",
        parameters=[
            OpenApiParameter("experiment", str, required=True, description="Experiment key"),
            OpenApiParameter("unit", str, required=True, description=f"Visitor id, 1–{UNIT_MAX_LENGTH} characters"),
            OpenApiParameter(
                "product", str, description="SKU whose copy to return; may be omitted for a one-product experiment"
            ),
        ],
        responses={200: AssignmentSerializer, 400: ERROR_SCHEMA, 404: ERROR_SCHEMA},
    )
    def get(self, request: Request) -> Response:
        key = request.query_params.get("experiment", "")
        unit = request.query_params.get("unit", "")
        errors = _unit_errors(unit)
        if not key:
            errors["experiment"] = "this query parameter is required"
        if errors:
            return _invalid_query(errors)
        assignment = assign_variant(experiment_key=key, unit=unit, product=request.query_params.get("product") or None)
        if assignment is None:
            return Response({"error": f"experiment {key!r} not found"}, status=404)
        return Response(assignment.as_dict())


def _unit_errors(unit: str) -> dict[str, str]:
    if not unit:
        return {"unit": "this query parameter is required"}
    if len(unit) > UNIT_MAX_LENGTH:
        return {"unit": f"at most {UNIT_MAX_LENGTH} characters (got {len(unit)})"}
    return {}


def _invalid_query(errors: dict[str, str]) -> Response:
    return Response({"error": "invalid query: " + ", ".join(errors), "fields": errors}, status=400)


COPY_MAX_SKUS = 100


class CopyView(StorefrontView):
    """The copy a visitor sees on many products at once (listing and search pages). Public."""

    @extend_schema(
        operation_id="copy",
        parameters=[
            OpenApiParameter("unit", str, required=True, description=f"Visitor id, 1–{UNIT_MAX_LENGTH} characters"),
            OpenApiParameter(
                "products", str, required=True, description=f"Comma-separated SKUs, at most {COPY_MAX_SKUS}"
            ),
        ],
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="SKU → {experiment, variant, copy, in_experiment} (null for an unknown SKU); experiment "
                "and variant are null for a product in no running experiment",
            ),
            400: ERROR_SCHEMA,
        },
    )
    def get(self, request: Request) -> Response:
        unit = request.query_params.get("unit", "")
        skus = [s for s in dict.fromkeys(request.query_params.get("products", "").split(",")) if s]
        errors = _unit_errors(unit)
        if not skus:
            errors["products"] = "this query parameter is required (comma-separated SKUs)"
        elif len(skus) > COPY_MAX_SKUS:
            errors["products"] = f"at most {COPY_MAX_SKUS} SKUs (got {len(skus)})"
        elif any(len(s) > 64 or "\x00" in s for s in skus):
            errors["products"] = "a SKU has at most 64 characters and no NUL"
        if errors:
            return _invalid_query(errors)
        return Response(copy_for_products(unit=unit, skus=skus))


class ExperimentCopyMapView(StorefrontView):
    """Every product's copy in every arm (`copies[SKU][i]` is `variations[i]`'s), for SDKs that
    assign locally. Public; frozen while the experiment runs, so it carries an ETag."""

    @extend_schema(operation_id="experiment_copy_map", responses={200: dict, 304: None, 404: ERROR_SCHEMA})
    def get(self, request: Request, key: str) -> Response:
        experiment = get_object_or_404(Experiment.objects.exclude(status=Experiment.Status.DRAFT), key=key)
        body = copy_map(experiment)
        etag = '"' + hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32] + '"'
        if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
            response = Response(status=304)
        else:
            response = Response(body)
        response["ETag"] = etag
        response["Cache-Control"] = "public, max-age=60"
        return response


class ExperimentConfigView(StorefrontView):
    """GrowthBook-style definition so a storefront SDK can assign locally. Public."""

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


class VariantCopiesView(APIView):
    """GET: an arm's copy per product with its review state; PATCH: edit and approve in bulk."""

    permission_classes = (MarketerWritesAnalystReads,)

    @extend_schema(
        operation_id="variant_copies",
        parameters=[OpenApiParameter("status", str, enum=VariantCopy.Status.values, description="Only this status")],
        responses={200: VariantCopySerializer(many=True), 400: ERROR_SCHEMA, 404: ERROR_SCHEMA},
    )
    def get(self, request: Request, key: str, variant: str) -> Response:
        arm = get_object_or_404(Variant, experiment__key=key, key=variant)
        rows = VariantCopy.objects.filter(variant=arm).select_related("product__category", "reviewed_by")
        if status_filter := request.query_params.get("status"):
            if status_filter not in VariantCopy.Status.values:
                return _invalid_query({"status": f"one of {', '.join(VariantCopy.Status.values)}"})
            rows = rows.filter(status=status_filter)
        return Response(VariantCopySerializer(rows.order_by("product__sku"), many=True).data)

    @extend_schema(
        operation_id="variant_copies_update",
        request=dict,
        responses={200: VariantCopySerializer(many=True), 400: ERROR_SCHEMA, 404: ERROR_SCHEMA, 409: ERROR_SCHEMA},
    )
    def patch(self, request: Request, key: str, variant: str) -> Response:
        arm = get_object_or_404(Variant, experiment__key=key, key=variant)
        if not isinstance(request.data, dict) or not request.data:
            return Response(
                {"error": 'the body maps SKUs to {"copy": …, "approved": true}', "fields": {"body": "invalid"}},
                status=400,
            )
        rows = variant_copies_review(variant=arm, edits=request.data, user=request.user)
        snapshot_cache_clear(key)
        return Response(VariantCopySerializer(rows, many=True).data)


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
