"""Creativity vs conversion across experiments: per category, how CVR lift and copy diversity move with λ.

Every LLM arm of every experiment with traffic is one point: its λ, its copy's diversity (from
the generator's candidate, when it has one) and its CVR and CTR lift against its own
experiment's control (relative lifts make products with different baselines comparable). Arms
at the same λ are pooled by inverse-variance weighting. A weighted quadratic through the pooled
CVR lifts smooths the noise, and the elbow of that curve (kneed's maximum-curvature point) is
the recommended λ: past it, more creativity costs conversion fastest (concave curve), or stops
buying much (convex curve). With fewer than three λ values there is no curve to bend, and the
report says so rather than guess.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from analytics.breakdown_selectors import category_aggregates_many
from analytics.selectors import VariantAggregates, copy_scores, variant_aggregates_many
from analytics.stats import StatsConfig, fixed_horizon_test
from analytics.stats.results import finite_or_none
from catalog.models import Category
from catalog.paper import PAPER_LAMBDA_RANGES
from experiments.models import Experiment, Variant
from experiments.product_sets import experiment_main_category

MIN_LAMBDAS_FOR_ELBOW = 3
_Z95 = 1.959963984540054


@dataclass(frozen=True)
class ArmPoint:
    experiment: str
    variant: str
    lambda_value: float
    units: int
    diversity: float | None
    cvr: float | None
    ctr: float | None
    cvr_lift: float | None
    cvr_lift_se: float | None
    ctr_lift: float | None
    ctr_lift_se: float | None
    simulated: bool = False  # the experiment's events came from the traffic simulator


@dataclass(frozen=True)
class CurvePoint:
    """The arms at one λ, pooled: CVR and CTR lift with 95 % intervals, and the mean copy diversity."""

    lambda_value: float
    arms: int
    units: int
    cvr_lift: float | None
    cvr_ci: tuple[float, float] | None
    ctr_lift: float | None
    ctr_ci: tuple[float, float] | None
    diversity: float | None
    cvr_se: float | None  # the pooled CVR lift's standard error: the fit's weight


@dataclass(frozen=True)
class Fit:
    """The weighted quadratic through the pooled CVR lifts, on a 0.01 grid of λ."""

    lambdas: list[float]
    cvr_lift: list[float]
    coefficients: list[float]


@dataclass(frozen=True)
class Elbow:
    """A recommended λ (None: no curve to bend), how it was found, and why, in words."""

    lambda_value: float | None
    method: str | None  # "kneed", "best_fit" or None
    note: str
    fit: Fit | None = None
    experiments: int | None = None  # the online elbow: finished experiments behind it
    source: str | None = None  # the offline elbow: the evaluation file it comes from


@dataclass(frozen=True)
class LambdaEntry:
    """One category on the λ page: its arms, the pooled curve, the elbow, and the λ to compare it with."""

    category: str
    category_id: int
    current_lambda: float
    paper_range: tuple[float, float] | None
    arms: list[ArmPoint]
    experiments: int
    curve: list[CurvePoint]
    recommendation: Elbow
    within_paper_range: bool | None
    adopted: bool
    online: Elbow | None = None  # from finished experiments only
    offline: Elbow | None = None  # from the last offline evaluation

    @property
    def recommended_lambda(self) -> float | None:
        return self.recommendation.lambda_value

    @property
    def method(self) -> str | None:
        return self.recommendation.method

    @property
    def note(self) -> str:
        return self.recommendation.note

    @property
    def fit(self) -> Fit | None:
        return self.recommendation.fit

    @property
    def simulated_experiments(self) -> list[str]:
        """The experiments behind the curve whose traffic was simulated (the demo's): the page says so."""
        return sorted({arm.experiment for arm in self.arms if arm.simulated})

    @property
    def chart_id(self) -> str:
        return f"chart-lambda-{self.category_id}"


def arm_points(
    *,
    experiments: Iterable[Experiment],
    variants: Mapping[int, Sequence[Variant]],
    aggregates: Mapping[int, Mapping[int, VariantAggregates]],
    scores: Mapping[int, Mapping[str, float | None]],
    by_category: Mapping[int, Mapping[int, Mapping[int, VariantAggregates]]] | None = None,
) -> dict[int, list[ArmPoint]]:
    """Per category id: one point per LLM arm (with a λ) of an experiment that has traffic.

    `by_category` (experiment id → category id → variant id → statistics, from the per-category
    breakdown of a catalog experiment) puts the arms of an experiment whose set spans categories
    on each category's curve, with the units of that category only: the paper's online test is
    one experiment per category with arms at several λ. Other experiments sit in their category.
    """
    config = StatsConfig()
    points: dict[int, list[ArmPoint]] = defaultdict(list)
    for experiment in experiments:
        per_category = (by_category or {}).get(experiment.pk) or {
            getattr(experiment_main_category(experiment), "pk", None): aggregates.get(experiment.pk, {})
        }
        for category_id, stats in per_category.items():
            _arm_points_of(experiment, variants.get(experiment.pk, ()), stats, scores, config, points[category_id])
    return {category_id: found for category_id, found in points.items() if found}


def _arm_points_of(
    experiment: Experiment,
    arms: Sequence[Variant],
    stats: Mapping[int, VariantAggregates],
    scores: Mapping[int, Mapping[str, float | None]],
    config: StatsConfig,
    out: list[ArmPoint],
) -> None:
    control = next((v for v in arms if v.is_control), None)
    if control is None or control.pk not in stats:
        return
    for variant in arms:
        if variant.is_control or variant.lambda_value is None:
            continue
        agg = stats.get(variant.pk) or VariantAggregates.empty()
        if agg.units == 0:
            continue
        lifts = {}
        for metric in ("cvr", "ctr"):
            result = fixed_horizon_test(stats[control.pk].statistic(metric), agg.statistic(metric), config)
            lifts[metric] = (result.relative.estimate, result.relative.std_error, result.treatment_mean)
        out.append(
            ArmPoint(
                experiment=experiment.key,
                variant=variant.key,
                lambda_value=float(variant.lambda_value),
                units=int(agg.units),
                diversity=(scores.get(variant.pk) or {}).get("diversity"),
                cvr=lifts["cvr"][2],
                ctr=lifts["ctr"][2],
                cvr_lift=lifts["cvr"][0],
                cvr_lift_se=lifts["cvr"][1],
                ctr_lift=lifts["ctr"][0],
                ctr_lift_se=lifts["ctr"][1],
                simulated=experiment.simulated_traffic,
            )
        )


def _pool(values: list[tuple[float | None, float | None]]) -> tuple[float | None, float | None]:
    """Inverse-variance weighted mean and its standard error; arms without a standard error are skipped."""
    usable = [(v, se) for v, se in values if v is not None and se is not None and se > 0]
    if not usable:
        return None, None
    weights = [1.0 / (se * se) for _, se in usable]
    total = sum(weights)
    return sum(w * v for w, (v, _) in zip(weights, usable, strict=True)) / total, math.sqrt(1.0 / total)


def _mean(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def lambda_curve(points: Sequence[ArmPoint]) -> list[CurvePoint]:
    """Pooled points per λ (rounded to 0.01), lowest λ first."""
    by_lambda: dict[float, list[ArmPoint]] = defaultdict(list)
    for point in points:
        by_lambda[round(point.lambda_value, 2)].append(point)
    curve = []
    for lam in sorted(by_lambda):
        arms = by_lambda[lam]
        cvr, cvr_se = _pool([(p.cvr_lift, p.cvr_lift_se) for p in arms])
        ctr, ctr_se = _pool([(p.ctr_lift, p.ctr_lift_se) for p in arms])
        curve.append(
            CurvePoint(
                lambda_value=lam,
                arms=len(arms),
                units=sum(p.units for p in arms),
                cvr_lift=cvr,
                cvr_ci=None if cvr is None else (cvr - _Z95 * cvr_se, cvr + _Z95 * cvr_se),
                ctr_lift=ctr,
                ctr_ci=None if ctr is None else (ctr - _Z95 * ctr_se, ctr + _Z95 * ctr_se),
                diversity=_mean(p.diversity for p in arms),
                cvr_se=cvr_se,
            )
        )
    return curve


def elbow(curve: Sequence[CurvePoint]) -> Elbow:
    """The recommended λ from the pooled CVR lifts: the knee of a weighted quadratic fit."""
    usable = [c for c in curve if c.cvr_lift is not None and c.cvr_se]
    if len(usable) < MIN_LAMBDAS_FOR_ELBOW:
        return Elbow(
            lambda_value=None,
            method=None,
            note=f"needs arms at {MIN_LAMBDAS_FOR_ELBOW} or more λ values with traffic (has {len(usable)})",
        )
    x = np.array([c.lambda_value for c in usable])
    y = np.array([c.cvr_lift for c in usable])
    weights = np.array([1.0 / c.cvr_se for c in usable])  # type: ignore[operator]
    coefficients = np.polyfit(x, y, 2, w=weights)
    grid = np.round(np.linspace(x.min(), x.max(), round(float(x.max() - x.min()) / 0.01) + 1), 2)
    fitted = np.polyval(coefficients, grid)
    fit = Fit(lambdas=grid.tolist(), cvr_lift=fitted.tolist(), coefficients=coefficients.tolist())
    best = float(grid[int(np.argmax(fitted))])
    if not fitted[-1] < fitted[0]:
        return Elbow(
            lambda_value=best,
            method="best_fit",
            fit=fit,
            note="conversion does not fall as λ rises in the tested range: no trade-off to balance, so the "
            "λ with the best fitted CVR lift is recommended",
        )
    from kneed import KneeLocator  # imported here: only this view needs it

    curve_shape = "concave" if coefficients[0] < 0 else "convex"
    knee = KneeLocator(grid, fitted, curve=curve_shape, direction="decreasing").knee
    if knee is None or not np.isfinite(knee):
        return Elbow(
            lambda_value=best,
            method="best_fit",
            fit=fit,
            note="the fitted curve has no clear elbow; the λ with the best fitted CVR lift is recommended",
        )
    return Elbow(
        lambda_value=float(round(knee, 2)),
        method="kneed",
        fit=fit,
        note=f"elbow of the {curve_shape} CVR-lift curve over λ (kneed)",
    )


def lambda_tradeoff(*, categories: Sequence[Category], points: Mapping[int, Sequence[ArmPoint]]) -> list[LambdaEntry]:
    """Per category: its arms, the pooled curve, the elbow, the paper's range and the current default."""
    result = []
    for category in categories:
        arms = list(points.get(category.pk, ()))
        curve = lambda_curve(arms)
        recommendation = elbow(curve)
        paper = PAPER_LAMBDA_RANGES.get(category.name)
        recommended = recommendation.lambda_value
        result.append(
            LambdaEntry(
                category=category.name,
                category_id=category.pk,
                current_lambda=category.recommended_lambda,
                paper_range=paper,
                arms=sorted(arms, key=lambda a: (a.lambda_value, a.experiment)),
                experiments=len({a.experiment for a in arms}),
                curve=curve,
                recommendation=recommendation,
                within_paper_range=(
                    None if recommended is None or paper is None else paper[0] - 1e-9 <= recommended <= paper[1] + 1e-9
                ),
                adopted=recommended is not None
                and finite_or_none(category.recommended_lambda) is not None
                and abs(category.recommended_lambda - recommended) < 0.005,
            )
        )
    return result


def offline_lambda_elbows() -> dict[str, Elbow]:
    """Per category: the elbow λ of the last offline evaluation (`manage.py evaluate_generator`), if any."""
    path = settings.VAR_DIR / "evaluation" / "evaluation.json"
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    result = {}
    for name, data in (report.get("categories") or {}).items():
        knee = (data or {}).get("elbow") or {}
        result[name] = Elbow(lambda_value=knee.get("lambda"), method=None, note=knee.get("note", ""), source=str(path))
    return result


# --- The report: λ per category over the experiments with traffic ---------------------------------------------------


REPORTED_STATUSES = (Experiment.Status.RUNNING, Experiment.Status.PAUSED, Experiment.Status.STOPPED)


def lambda_report_build(*, category: Category | None = None) -> list[LambdaEntry]:
    """Per category, the creativity-vs-conversion curve over λ across experiments with traffic."""
    experiments = list(
        Experiment.objects.filter(status__in=REPORTED_STATUSES)
        .filter(**({"products__category": category} if category else {}))
        .distinct()
        .prefetch_related("products")
    )
    variants: dict[int, list[Variant]] = {}
    for variant in Variant.objects.filter(experiment__in=experiments):
        variants.setdefault(variant.experiment_id, []).append(variant)
    with_llm = [e for e in experiments if any(v.lambda_value is not None for v in variants.get(e.pk, ()))]
    aggregates = variant_aggregates_many(experiment_ids=[e.pk for e in with_llm])
    scores = copy_scores(variant_ids=[v.pk for e in with_llm for v in variants[e.pk]])
    # Catalog experiments whose set spans categories: their arms on each category's curve.
    spanning = [e.pk for e in with_llm if len({p.category_id for p in e.products.all()}) > 1]
    points = arm_points(
        experiments=with_llm,
        variants=variants,
        aggregates=aggregates,
        scores=scores,
        by_category=category_aggregates_many(experiment_ids=spanning) if spanning else None,
    )
    categories = [category] if category else list(Category.objects.order_by("name"))
    # The online elbow: finished experiments only (their arms ran to the end; running ones may still
    # move), next to the offline evaluation's elbow and the paper's range.
    finished = {e.key for e in with_llm if e.status == Experiment.Status.STOPPED}
    offline = offline_lambda_elbows()
    entries = []
    for entry in lambda_tradeoff(categories=categories, points=points):
        arms = [p for p in points.get(entry.category_id, ()) if p.experiment in finished]
        online = dataclasses.replace(elbow(lambda_curve(arms)), fit=None, experiments=len({p.experiment for p in arms}))
        stored = offline.get(entry.category) or Elbow(
            lambda_value=None, method=None, note="no offline evaluation stored"
        )
        entries.append(dataclasses.replace(entry, online=online, offline=stored))
    return entries
