"""The lift report's types: frozen dataclasses, read by attribute, written as JSON by `to_dict()`.

Conventions of the numbers:
- lifts are treatment vs control; relative lifts and their intervals are fractions (0.125 = +12.5 %);
- `ci` is the fixed-horizon interval (valid at one planned look), `sequential_ci` the always-valid
  interval of the configured sequential test at the latest look (valid however often one looks);
- each metric has a test scale: relative lift, except revenue per unit, whose relative test runs
  hot on skewed revenue (6 % false positives at alpha 5 % in the engine's validation), so its
  p-values, significance and decision use the absolute lift (both lifts are always shown);
- p-values are adjusted across the treatment arms of each metric (Holm by default).

Field order is JSON key order: the API's, the command's and the pinned contract test's.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any, Literal, TypeAlias

from analytics.report.base import Interval, JsonType, Scale, frozen
from analytics.report.breakdown_types import Breakdown, ExcludedProducts
from analytics.report.cuped import CupedLift, CupedSummary, UnadjustedLift
from analytics.report.jsonform import openapi_schema, spec
from analytics.report.novelty_types import Novelty
from analytics.report.options import ALL_METRICS, Correction, SequentialMethod
from analytics.stats.sequential import Decision as SequentialDecision
from experiments.models import Experiment

DecisionStatus: TypeAlias = Literal[
    "ship",
    "keep_control",
    "stop_no_effect",
    "keep_running",
    "inconclusive",
    "srm_problem",
    "not_enough_data",
    "guardrail_harm",
]
DECISIONS: tuple[str, ...] = DecisionStatus.__args__  # type: ignore[attr-defined]
LookSource: TypeAlias = Literal["totals", "events", "live"]


@frozen
class Lift(JsonType):
    """Treatment vs control. Relative lifts and intervals are fractions (0.125 = +12.5 %). `ci`: fixed-horizon
    interval; `sequential_ci`: always-valid interval of the sequential test at the latest look. p-values,
    `significant` and the decision use the lift named by `scale`."""

    absolute: float | None
    relative: float | None
    ci: Interval | None
    ci_absolute: Interval | None
    scale: Scale
    p_value: float | None
    p_value_adjusted: float | None
    sequential_ci: Interval | None
    sequential_ci_absolute: Interval | None
    sequential_p_value: float | None
    sequential_p_value_adjusted: float | None
    sequential_decision: SequentialDecision | None
    chance_to_beat_control: float | None
    expected_loss: float | None
    significant: bool = spec(description="fixed-horizon, adjusted p < alpha")
    sequential_significant: bool = spec(description="sequential, adjusted p < alpha, past burn-in")
    warning: str | None = None
    error: str | None = None
    estimate: float | None = spec(default=None, description="the lift on `scale` (the headline)")
    estimate_ci: Interval | None = spec(default=None, description="fixed-horizon interval on `scale`")
    estimate_sequential_ci: Interval | None = spec(
        default=None, description="always-valid interval on `scale`: the decision and the no-effect rule read it"
    )
    method: str | None = spec(
        default=None, description="fixed-horizon test: welch_t, or fisher_exact / pooled_variance for a zero-event arm"
    )
    method_warning: str | None = None
    unadjusted: UnadjustedLift | None = spec(
        default=None, description="the same comparison without CUPED (null: the lift is not CUPED-adjusted)"
    )
    cuped: CupedLift | None = spec(default=None, description="the CUPED adjustment (null: none)")


@frozen
class MetricResult(JsonType):
    """One variant's value of a metric, and its lift (null for the control)."""

    value: float | None
    lift: Lift | None


@frozen
class VariantResult(JsonType):
    """One variant: its copy, its counts and, per metric, its value and lift."""

    key: str
    name: str
    is_control: bool
    lambda_value: float | None = spec(name="lambda", description="creativity weight λ (null: not LLM copy)")
    source: str
    weight: float
    copy: str | None = spec(description="the arm's copy on a one-product experiment; null for a set")
    diversity: float | None
    novelty: float | None
    p_conv: float | None
    units: int
    impressions: int
    clicks: int
    add_to_carts: int
    orders: int
    revenue: float | None
    metrics: dict[str, MetricResult] = spec(
        description=f"by metric: {', '.join(ALL_METRICS)} (those the report analysed)"
    )


@frozen
class Product(JsonType):
    """The product of a one-product experiment; for a larger set, a summary of it."""

    sku: str = spec(description="the SKU; empty for a set of several products")
    title: str = spec(description="the product's title, or the set's description")
    category: str = spec(description="the category (the commonest one of a set)")
    count: int = spec(description="products in the experiment's set")


@frozen
class Srm(JsonType):
    """Sample ratio mismatch check of units per variant against the configured weights."""

    p_value: float | None
    flag: bool
    observed: dict[str, int]
    expected: dict[str, float | None]
    chi_square: float | None
    threshold: float
    reason: str | None


@frozen
class DecisionLift(JsonType):
    relative: float | None
    sequential_ci: Interval | None
    sequential_p_value: float | None = spec(description="adjusted across the treatment arms")


@frozen
class DaysLeft(JsonType):
    """How long until the leading variant's sequential test has `power` for a lift of `relative_lift`."""

    days_left: float | None
    relative_lift: float
    power: float | None = spec(default=None, only_with="variant")
    variant: str | None = spec(default=None, omit_if_none=True)
    daily_units: float | None = spec(default=None, only_with="variant")
    units_needed: int | None = spec(default=None, only_with="variant")
    current_power: float | None = spec(default=None, only_with="variant")
    error: str | None = None


@frozen
class ReportDecision(JsonType):
    """What to do now, in plain words (`text`)."""

    status: DecisionStatus
    winner: str | None = None
    metric: str
    days_left: float | None = None
    days_left_detail: DaysLeft | None = spec(default=None, omit_if_none=True)
    text: str
    lift: DecisionLift | None = spec(default=None, omit_if_none=True)
    blocked_by: list[str] | None = spec(
        default=None, omit_if_none=True, description="guardrails harmed by a would-be winner: `variant: metric`"
    )


@frozen
class LookLift(JsonType):
    relative: float | None
    sequential_ci: Interval | None
    sequential_p_value: float | None


@frozen
class LookSummary(JsonType):
    """One cumulative look (a daily snapshot, or the live totals)."""

    day: date
    taken_at: datetime
    source: LookSource
    units: dict[str, int]
    new_units: dict[str, int]
    lift: dict[str, dict[str, LookLift]] = spec(description="metric → treatment key → relative, sequential_ci")


@frozen
class SnapshotInfo(JsonType):
    """The daily snapshots behind the looks; `backfill`: a rebuild from raw events is pending or done."""

    count: int
    first_day: date | None
    last_day: date | None
    backfill: Literal["pending", "done"] | None


@frozen
class TrafficCounts(JsonType):
    units: int
    impressions: int
    clicks: int
    orders: int


@frozen
class Allocation(JsonType):
    """Bandit-mode experiments only: how traffic is allocated, and the slice that the report analyses."""

    mode: Literal["bandit"]
    method: Literal["holdout_slice"]
    holdout_share: float
    floor: float
    method_note: str
    history: list[dict[str, Any]]
    units_moved_by_reweighting: int
    all_traffic: dict[str, TrafficCounts]


@frozen
class MetricSettings(JsonType):
    """How one metric was analysed: its scale (and why), its mSPRT τ, whether it is a guardrail."""

    scale: Scale
    scale_note: str | None
    msprt_tau: float | None = spec(description="mSPRT mixing scale, relative to the control mean (msprt only)")
    guardrail: bool


@frozen
class Plan(JsonType):
    """The planned sample of the group-sequential design: α is spent by units so far / planned units."""

    planned_units: int | None = spec(description="all arms")
    source: Literal["experiment", "power_calculator"] | None
    planned_days: float | None = spec(description="planned units / units per day so far")
    units_so_far: int
    information_fraction: float | None
    metric: str
    relative_lift: float
    power: float
    ended: bool = spec(description="the plan's final look is past (units reached, or the experiment stopped)")
    error: str | None = None


@frozen
class RevenueCapping(JsonType):
    """Winsorisation of per-unit revenue before revenue per unit is tested (current totals only)."""

    percentile: float
    cap: float | None
    units: int
    capped_units: int
    capped_unit_share: float | None
    revenue_before: float
    revenue_after: float
    capped_revenue_share: float | None
    note: str


@frozen
class Capping(JsonType):
    """Winsorisation of one per-unit total before the metrics that read it are tested (current totals only)."""

    column: str = spec(description="the per-unit total capped: revenue, orders, add_to_carts, clicks or impressions")
    metrics: list[str] = spec(description="the metrics that read it")
    percentile: float | None = spec(description="of the non-zero per-unit totals, all arms pooled (null: absolute)")
    cap: float | None = spec(description="the threshold (null: no unit has any)")
    units: int
    capped_units: int
    capped_unit_share: float | None
    total_before: float
    total_after: float
    capped_share: float | None = spec(description="share of the column's total removed by the cap")


@frozen
class DataQuality(JsonType):
    """What ingestion kept out of the totals, and any rate that cannot be true."""

    quarantined_events: int
    quarantined_units: int
    quarantined_by_reason: dict[str, int]
    impossible_rates: list[str] = spec(
        description="variant: metric value for every rate above 100 % (the numbers are not to be trusted)"
    )


@frozen
class Report(JsonType):
    """The lift report of one experiment: what the pages, the API, the CSV and the command render."""

    experiment: str
    name: str
    status: str = spec(enum=Experiment.Status.values)
    simulated_traffic: bool = spec(
        description="the events came from the traffic simulator (the demo, simulate_traffic): the lifts describe "
        "made-up visitors, not shoppers"
    )
    product: Product
    primary_metric: str = spec(enum=ALL_METRICS)
    computed_at: datetime
    started_at: datetime | None
    stopped_at: datetime | None
    days_running: float | None
    alpha: float
    sequential_method: SequentialMethod
    sequential_tuning_n: float
    min_units_per_arm: int
    correction: Correction
    minimum_lift: float
    metrics: list[str]
    metric_scales: dict[str, Scale]
    units: int
    units_in_several_variants: int | None
    srm: Srm
    variants: list[VariantResult]
    decision: ReportDecision
    warnings: list[str]
    snapshots: SnapshotInfo | None = spec(none_as_empty=True)
    timeseries: list[LookSummary] = spec(
        description="One cumulative look per day (snapshots; the last one is the live totals)."
    )
    metric_settings: dict[str, MetricSettings] = spec(default_factory=dict)
    guardrail_metrics: list[str] = spec(default_factory=list)
    plan: Plan | None = None
    revenue_capping: RevenueCapping | None = None
    capping: list[Capping] = spec(
        default_factory=list, description="every capped per-unit total (revenue's is also `revenue_capping`)"
    )
    data_quality: DataQuality | None = None
    excluded_products: ExcludedProducts | None = spec(default=None, description="catalog experiments only")
    breakdowns: list[Breakdown] = spec(
        default_factory=list, description="per product and per category (catalog experiments of several products)"
    )
    novelty: Novelty | None = spec(
        default=None, description="daily lift, its trend and the lift by exposure cohort (null: no daily data yet)"
    )
    cuped: CupedSummary | None = spec(
        default=None, description="CUPED's pre-exposure covariate (null: CUPED is off or this report has none)"
    )
    allocation: Allocation | None = spec(default=None, omit_if_none=True)

    @property
    def treatments(self) -> list[VariantResult]:
        return [v for v in self.variants if not v.is_control]

    def with_allocation(self, allocation: Allocation) -> Report:
        return dataclasses.replace(self, allocation=allocation)


def report_schema() -> dict[str, Any]:
    """The OpenAPI schema of `Report.to_dict()`."""
    return openapi_schema(Report)
