"""Generation API for scripts (thin views over generator.jobs / generator.selectors).

POST /api/v1/experiments/KEY/generate   {"lambdas": [...], "candidates": N, "top_k": K} → 202 {"job": ID}
GET  /api/v1/generation-jobs/ID          status, progress, error, and per λ its variant and scored candidates
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from abplatform.api_errors import ERROR_SCHEMA, Conflict
from abplatform.errors import FieldErrors
from abplatform.roles import MarketerWritesAnalystReads
from experiments.models import Experiment, VariantCopy
from generator import jobs, selectors
from generator.models import Candidate, GenerationJob
from generator.scorers import SHOWN_SCORES


class GenerateRequestSerializer(serializers.Serializer):
    """Documents the body; the service validates it so the admin action shares the same rules."""

    lambdas = serializers.ListField(
        child=serializers.FloatField(min_value=0.0, max_value=1.0),
        min_length=1,
        max_length=5,
        required=False,
        help_text="Creativity weights λ in [0, 1]; default: the category's recommended λ and ±0.2.",
    )
    candidates = serializers.IntegerField(min_value=1, max_value=32, default=8, help_text="Candidates per λ.")
    top_k = serializers.IntegerField(min_value=1, max_value=32, default=3, help_text="Kept per λ (≤ candidates).")
    seed = serializers.IntegerField(
        required=False, min_value=0, max_value=2**31 - 1, help_text="Sampling seed (default: a fresh random one)."
    )
    skus = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Only these products (retry); default: all."
    )


class CandidateSerializer(serializers.ModelSerializer):
    """A candidate with its scores, named and ordered as `scorers.SHOWN_SCORES` says."""

    kept = serializers.BooleanField()
    variant = serializers.SlugRelatedField(slug_field="key", read_only=True)

    class Meta:
        model = Candidate
        fields = (
            "id",
            "position",
            "rank",
            "kept",
            "dropped_reason",
            "text",
            "cuts",
            "prompt_type",
            "sentiment_target",
            *(shown for shown, _column in SHOWN_SCORES),
            "variant",
        )
        # A score shown under another name than its column (cta, length) reads that column.
        extra_kwargs = {shown: {"source": column} for shown, column in SHOWN_SCORES if shown != column}


def _lambda_results(job: GenerationJob) -> list[dict[str, Any]]:
    summary = {round(float(e["lambda"]), 4): e for e in (job.summary or {}).get("lambdas", [])}
    by_lambda: dict[float, list[Candidate]] = {}
    for candidate in job.candidates.all():
        by_lambda.setdefault(round(candidate.lambda_value, 4), []).append(candidate)
    results = []
    for lam in job.lambdas:
        key = round(float(lam), 4)
        candidates = sorted(by_lambda.get(key, []), key=lambda c: (c.rank is None, c.rank or 0, c.position))
        entry = summary.get(key, {})
        chosen = next((c for c in candidates if c.variant_id), None)
        variant = chosen.variant if chosen is not None else None
        results.append(
            {
                "lambda": float(lam),
                "variant": (
                    {"key": variant.key, "id": variant.pk, "copy": chosen.text, "approved": _copy_approved(chosen)}
                    if variant is not None
                    else None
                ),
                "diversity": entry.get("top_diversity"),
                "pool_diversity": entry.get("pool_diversity"),
                "note": entry.get("note", ""),
                "candidates": CandidateSerializer(candidates, many=True).data,
            }
        )
    return results


def _copy_approved(candidate: Candidate) -> bool:
    """Whether the arm's copy for the candidate's product is (still) this text, approved."""
    return VariantCopy.objects.filter(
        variant_id=candidate.variant_id,
        product_id=candidate.product_id,
        copy=candidate.text,
        status=VariantCopy.Status.APPROVED,
    ).exists()


def job_payload(job: GenerationJob) -> dict[str, Any]:
    failed = job.products.filter(status="failed").select_related("product").order_by("product__sku")[:200]
    return {
        "id": job.pk,
        "experiment": job.experiment.key,
        "status": job.status,
        "progress": job.progress,
        "error": job.error,
        "lambdas": job.lambdas,
        "candidates": job.candidates_per_lambda,
        "top_k": job.top_k,
        "seed": job.seed,
        "model": job.model_version or job.model_name,
        "prompt_version": job.prompt_version,
        "predictor_version": job.predictor_version,
        "timings": job.timings,
        "products": {
            "total": job.products_total,
            "done": job.products_done,
            "failed": job.products_failed,
            "eta_s": None if job.eta_seconds is None else round(job.eta_seconds, 1),
            "cost": {"candidates": job.candidates_made, "tokens": job.tokens, "seconds": round(job.work_seconds, 1)},
            "failures": [{"sku": f.product.sku, "lambda": f.lambda_value, "error": f.error} for f in failed],
        },
        "created_by": job.created_by.get_username() if job.created_by else None,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "results": _lambda_results(job) if job.status == GenerationJob.Status.SUCCEEDED else [],
    }


class GenerateView(APIView):
    permission_classes = (MarketerWritesAnalystReads,)

    @extend_schema(
        operation_id="experiment_generate",
        request=GenerateRequestSerializer,
        responses={
            202: inline_serializer("GenerationQueued", {"job": serializers.IntegerField()}),
            400: OpenApiResponse(ERROR_SCHEMA),
            404: OpenApiResponse(ERROR_SCHEMA),
            409: OpenApiResponse(ERROR_SCHEMA),
        },
    )
    def post(self, request: Request, key: str) -> Response:
        experiment = get_object_or_404(Experiment, key=key)
        if experiment.status != Experiment.Status.DRAFT:
            raise Conflict(f"experiment {key!r} is {experiment.status}; LLM copy can only be generated for a draft")
        data = request.data if isinstance(request.data, dict) else {}
        seed = data.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31):
            # GenerationJob.seed is a 32-bit column: a larger value would be a database error (500).
            raise FieldErrors({"seed": "must be an integer from 0 to 2147483647"})
        skus = data.get("skus", [])
        if not isinstance(skus, list) or not all(isinstance(s, str) for s in skus):
            raise FieldErrors({"skus": "must be a list of SKUs of the experiment"})
        job = jobs.generation_job_create(
            experiment=experiment,
            lambdas=data.get("lambdas"),
            candidates=data.get("candidates", 8),
            top_k=data.get("top_k", 3),
            seed=seed,
            user=request.user,
            skus=skus,
        )
        return Response({"job": job.pk}, status=status.HTTP_202_ACCEPTED)


class GenerationJobView(APIView):
    permission_classes = (MarketerWritesAnalystReads,)

    @extend_schema(operation_id="generation_job_retrieve", responses={200: dict, 404: OpenApiResponse(ERROR_SCHEMA)})
    def get(self, request: Request, job_id: int) -> Response:
        try:
            job = selectors.generation_job_detail(job_id=job_id)
        except GenerationJob.DoesNotExist:
            return Response({"error": f"no generation job {job_id}"}, status=status.HTTP_404_NOT_FOUND)
        return Response(job_payload(job))
