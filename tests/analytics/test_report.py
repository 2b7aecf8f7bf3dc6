"""The report object: numbers equal the statistics engine's, the JSON contract, decisions, CSV."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import F
from django.test import override_settings
from django.utils import timezone

from analytics import services
from analytics.report.assembly import report_assemble
from analytics.report.csv_export import CSV_COLUMNS, report_csv
from analytics.report.looks import Look
from analytics.report.options import ALL_METRICS, ReportOptions
from analytics.report.types import Report
from analytics.selectors import VariantAggregates
from analytics.stats import (
    RatioStatistic,
    SampleMeanStatistic,
    StatsConfig,
    adjust_p_values,
    analyze_metric,
    sequential_test,
    srm_test,
)
from experiments.models import Experiment
from ingest.models import UnitTotals
from tests.analytics.factories import Truth, traffic

pytestmark = pytest.mark.django_db

METRIC_COLUMNS = {
    "ctr": ("clicks", "impressions"),
    "cvr": ("orders", "impressions"),
    "click_to_order": ("orders", "clicks"),
    "atc_rate": ("add_to_carts", "clicks"),
    "orders_per_unit": ("orders", None),
    "revenue_per_unit": ("revenue", None),
}


def hand_built_totals(experiment: Experiment, per_variant: dict[str, int], seed: int = 7) -> dict[str, list[dict]]:
    """Per-unit totals written straight into UnitTotals; returns the per-unit values by variant key."""
    rng = random.Random(seed)
    now = timezone.now()
    values: dict[str, list[dict]] = {}
    rows = []
    for variant in experiment.variants.all():
        boost = 0.04 if not variant.is_control else 0.0
        values[variant.key] = []
        for i in range(per_variant[variant.key]):
            imp = rng.randint(1, 4)
            clicks = sum(rng.random() < 0.12 + boost for _ in range(imp))
            atc = sum(rng.random() < 0.5 for _ in range(clicks))
            orders = sum(rng.random() < 0.6 for _ in range(atc))
            unit = {
                "impressions": imp,
                "clicks": clicks,
                "add_to_carts": atc,
                "orders": orders,
                "revenue": orders * 19.5,
            }
            values[variant.key].append(unit)
            rows.append(
                UnitTotals(
                    experiment=experiment,
                    variant=variant,
                    unit=f"{variant.key}-{i}",
                    first_seen=now,
                    last_seen=now,
                    **unit,
                )
            )
    UnitTotals.objects.bulk_create(rows)
    return values


def statistic(units: list[dict], metric: str):
    numerator, denominator = METRIC_COLUMNS[metric]
    if denominator is None:
        return SampleMeanStatistic.from_values([u[numerator] for u in units])
    return RatioStatistic.from_units([u[numerator] for u in units], [u[denominator] for u in units])


@pytest.fixture
def running(make_experiment):
    experiment = make_experiment(start=True)
    Experiment.objects.filter(pk=experiment.pk).update(started_at=timezone.now() - timedelta(days=3))
    experiment.refresh_from_db()
    return experiment


def test_report_numbers_equal_the_statistics_engine(running):
    values = hand_built_totals(running, {"control": 400, "llm-l040": 420, "llm-l060": 800})
    report = services.report_build(experiment=running, backfill="never")
    by_key = {v.key: v for v in report.variants}
    treatments = ["llm-l040", "llm-l060"]
    for metric in ALL_METRICS:
        scale = "absolute" if metric == "revenue_per_unit" else "relative"
        config = StatsConfig(alpha=running.alpha, difference_type=scale)
        control = statistic(values["control"], metric)
        arms = {key: statistic(values[key], metric) for key in treatments}
        expected = analyze_metric(control, arms, metric=metric, control_name="control", config=config)
        assert by_key["control"].metrics[metric].value == pytest.approx(expected.control.mean)
        assert by_key["control"].metrics[metric].lift is None
        sequential = {k: sequential_test(control, arms[k], config) for k in treatments}
        relative_cs = {k: sequential_test(control, arms[k], StatsConfig(alpha=running.alpha)) for k in treatments}
        seq_adjusted = adjust_p_values([sequential[k].p_value for k in treatments], "holm")
        for key, comparison, seq_adj in zip(treatments, expected.comparisons, seq_adjusted, strict=True):
            lift = by_key[key].metrics[metric].lift
            fixed = comparison.fixed
            assert lift.scale == scale
            assert lift.absolute == pytest.approx(fixed.absolute.estimate)
            assert lift.relative == pytest.approx(fixed.relative.estimate)
            assert lift.ci == pytest.approx([fixed.relative.ci_lower, fixed.relative.ci_upper])
            assert lift.ci_absolute == pytest.approx([fixed.absolute.ci_lower, fixed.absolute.ci_upper])
            assert lift.p_value == pytest.approx(comparison.p_value)
            assert lift.p_value_adjusted == pytest.approx(comparison.p_value_adjusted)
            assert lift.chance_to_beat_control == pytest.approx(comparison.bayesian.chance_to_beat_control)
            assert lift.significant is bool(comparison.significant_adjusted)
            # One look (no snapshots): the sequential path is the single sequential test.
            assert lift.sequential_p_value == pytest.approx(sequential[key].p_value)
            assert lift.sequential_p_value_adjusted == pytest.approx(seq_adj)
            assert lift.sequential_ci == pytest.approx([relative_cs[key].ci_lower, relative_cs[key].ci_upper])
    srm = srm_test([400, 420, 800], [1, 1, 2], names=["control", *treatments])
    assert report.srm.p_value == pytest.approx(srm.p_value)
    assert report.srm.observed == {"control": 400, "llm-l040": 420, "llm-l060": 800}
    assert report.srm.expected == pytest.approx({"control": 405, "llm-l040": 405, "llm-l060": 810})
    assert report.units == 1620


def test_json_contract(running):
    hand_built_totals(running, {"control": 100, "llm-l040": 100, "llm-l060": 200})
    report = services.report_build(experiment=running, backfill="never").to_dict()
    json.dumps(report, allow_nan=False)  # JSON-safe: no NaN, no infinity, no dates
    for key in ("experiment", "status", "computed_at", "alpha", "sequential_method", "srm", "variants", "decision"):
        assert key in report
    assert report["experiment"] == running.key and report["status"] == "running"
    assert report["alpha"] == 0.05 and report["sequential_method"] == "cs"
    assert datetime.fromisoformat(report["computed_at"]).tzinfo is not None
    assert set(report["srm"]) >= {"p_value", "flag", "observed", "expected"}
    assert isinstance(report["timeseries"], list) and report["timeseries"]
    assert set(report["decision"]) >= {"status", "winner", "metric", "text", "days_left"}
    variant_keys = {"key", "is_control", "lambda", "copy", "units", "impressions", "clicks", "add_to_carts", "orders"}
    lift_keys = {
        "absolute",
        "relative",
        "ci",
        "p_value",
        "p_value_adjusted",
        "sequential_ci",
        "sequential_p_value",
        "chance_to_beat_control",
        "significant",
    }
    assert [v["key"] for v in report["variants"]] == ["control", "llm-l040", "llm-l060"]
    for variant in report["variants"]:
        assert set(variant) >= variant_keys | {"revenue", "metrics"}
        assert set(variant["metrics"]) == set(ALL_METRICS)
        for block in variant["metrics"].values():
            assert set(block) == {"value", "lift"}
            if variant["is_control"]:
                assert block["lift"] is None
            else:
                assert set(block["lift"]) >= lift_keys
                assert len(block["lift"]["ci"]) == 2 and len(block["lift"]["sequential_ci"]) == 2
    assert report["variants"][1]["lambda"] == 0.4 and report["variants"][0]["lambda"] is None


def _aggregates(n: int, clicks: float, impressions_per_unit: int = 1, orders: float | None = None) -> VariantAggregates:
    """n units with one impression each and 0/1 clicks (and orders): exact sufficient statistics."""
    imp = n * impressions_per_unit
    orders = clicks * 0.4 if orders is None else orders
    return VariantAggregates(
        units=n,
        impressions=imp,
        clicks=clicks,
        add_to_carts=orders,
        orders=orders,
        revenue=orders * 20,
        sq_impressions=n * impressions_per_unit**2,
        sq_clicks=clicks,
        sq_add_to_carts=orders,
        sq_orders=orders,
        sq_revenue=orders * 400,
        x_clicks_impressions=clicks * impressions_per_unit,
        x_orders_impressions=orders * impressions_per_unit,
        x_orders_clicks=orders,
        x_add_to_carts_clicks=orders,
        units_without_impression=0,
    )


def assemble(experiment: Experiment, looks_by_variant: list[dict[str, VariantAggregates]], **kwargs) -> Report:
    variants = list(experiment.variants.all())
    ids = {v.key: v.pk for v in variants}
    now = kwargs.pop("now", timezone.now())
    looks = [
        Look(
            day=(now - timedelta(days=len(looks_by_variant) - i - 1)).date(),
            taken_at=now - timedelta(days=len(looks_by_variant) - i - 1),
            source="totals",
            aggregates={ids[key]: agg for key, agg in look.items()},
        )
        for i, look in enumerate(looks_by_variant)
    ]
    return report_assemble(
        experiment=experiment, variants=variants, looks=looks, options=ReportOptions(), now=now, **kwargs
    )


def test_decision_ship_says_it_in_plain_words(two_arm):
    n = 40_000
    report = assemble(two_arm, [{"control": _aggregates(n, n * 0.09), "llm-l060": _aggregates(n, n * 0.105)}])
    decision = report.decision
    assert decision.status == "ship" and decision.winner == "llm-l060" and decision.metric == "cvr"
    assert decision.text.startswith("llm-l060 (λ=0.6) beats control on CVR: +16.7 % [")
    assert "sequential test significant, safe to stop" in decision.text


def test_decision_keep_running_with_days_left(two_arm):
    n = 3_000  # past the burn-in, far from significance
    report = assemble(two_arm, [{"control": _aggregates(n, n * 0.09), "llm-l060": _aggregates(n, n * 0.091)}])
    decision = report.decision
    assert decision.status == "keep_running"
    assert decision.days_left > 1
    assert f"about {decision.days_left:.0f} more days at current traffic" in decision.text


def test_decision_burn_in_keeps_running_even_when_significant(two_arm):
    n = 600  # below min_units_per_arm = 1000
    report = assemble(two_arm, [{"control": _aggregates(n, n * 0.05), "llm-l060": _aggregates(n, n * 0.2)}])
    assert report.decision.status == "keep_running"
    assert "fewer than 1,000 units in an arm" in report.decision.text
    lift = report.variants[1].metrics["cvr"].lift
    assert lift.significant is True and lift.sequential_significant is False and lift.warning


def test_decision_no_effect_when_the_interval_is_narrow(two_arm):
    n = 2_000_000
    report = assemble(two_arm, [{"control": _aggregates(n, n * 0.1), "llm-l060": _aggregates(n, n * 0.1003)}])
    assert report.decision.status == "stop_no_effect"
    assert "±5 %" in report.decision.text


def test_decision_keep_control_when_every_variant_loses(two_arm):
    n = 40_000
    report = assemble(two_arm, [{"control": _aggregates(n, n * 0.1), "llm-l060": _aggregates(n, n * 0.08)}])
    assert report.decision.status == "keep_control" and report.decision.winner == "control"


def test_decision_srm_comes_first(two_arm):
    report = assemble(two_arm, [{"control": _aggregates(40_000, 4_000), "llm-l060": _aggregates(45_000, 6_000)}])
    assert report.srm.flag is True
    assert report.decision.status == "srm_problem"
    assert "Sample ratio mismatch" in report.decision.text


def test_sequential_decision_is_sticky_across_daily_looks(two_arm):
    n = 40_000
    strong = {"control": _aggregates(n, n * 0.09), "llm-l060": _aggregates(n, n * 0.105)}
    # A later look where the lift shrank: the path keeps the earlier stop and the running-min p-value.
    weaker = {"control": _aggregates(2 * n, 2 * n * 0.09), "llm-l060": _aggregates(2 * n, 2 * n * 0.0915)}
    report = assemble(two_arm, [strong, weaker])
    lift = report.variants[1].metrics["cvr"].lift
    assert lift.sequential_decision == "stop_increase"
    first = report.timeseries[0].lift["cvr"]["llm-l060"].sequential_p_value
    assert lift.sequential_p_value == pytest.approx(first)
    assert [look.new_units["control"] for look in report.timeseries] == [n, n]


def test_empty_and_control_only_experiments(make_experiment, product):
    draft = make_experiment("draft-one")
    report = services.report_build(experiment=draft, backfill="never")
    assert report.decision.status == "not_enough_data"
    assert report.units == 0 and report.srm.p_value is None
    running = make_experiment("no-traffic", start=True)
    report = services.report_build(experiment=running)
    assert report.decision.status == "not_enough_data" and "No traffic yet" in report.decision.text
    assert report.variants[1].metrics["ctr"].lift.relative is None
    json.dumps(report.to_dict(), allow_nan=False)
    control_only = make_experiment(
        "control-only",
        variants=[{"key": "control", "is_control": True, "copy": "Plain copy.", "weight": 1, "approved": True}],
    )
    report = services.report_build(experiment=control_only)
    assert report.decision.status == "not_enough_data" and "add an LLM variant" in report.decision.text


def test_report_of_simulated_traffic_has_daily_timeseries(running):
    traffic(running, units=1500, days=4, truths={"llm-l060": Truth(ctr=0.14, cvr=0.06)}, seed=3)
    report = services.report_build(experiment=running, backfill="now")
    assert report.snapshots.count == 4 and report.snapshots.backfill == "done"
    days = [look.day for look in report.timeseries]
    # Four backfilled days. Nothing arrived today, and the last day's look from the raw events equals the
    # live per-unit totals exactly, so the live totals add no look of their own.
    assert len(days) == 4 and days == sorted(days)
    assert {look.source for look in report.timeseries} == {"events"}
    assert sum(sum(look.new_units.values()) for look in report.timeseries) == report.units == 1500


def test_csv_has_one_row_per_variant_and_metric(running):
    hand_built_totals(running, {"control": 100, "llm-l040": 100, "llm-l060": 200})
    report = services.report_build(experiment=running, backfill="never")
    lines = list(csv.DictReader(io.StringIO(report_csv(report))))
    assert tuple(lines[0]) == CSV_COLUMNS
    rows = [line for line in lines if not line["breakdown"]]  # the novelty rows (cohorts here) follow them
    assert len(rows) == 3 * len(ALL_METRICS) and lines[: len(rows)] == rows
    ctr = {r["variant"]: r for r in rows if r["metric"] == "ctr"}
    assert ctr["control"]["lift_relative"] == "" and ctr["control"]["is_control"] == "true"
    lift = report.variants[2].metrics["ctr"].lift
    assert float(ctr["llm-l060"]["lift_relative"]) == pytest.approx(lift.relative)
    assert float(ctr["llm-l060"]["ci_lower"]) == pytest.approx(lift.ci[0])
    assert ctr["llm-l060"]["significant"] in ("true", "false")


def test_option_defaults_come_from_the_report_settings():
    assert ReportOptions() == ReportOptions(sequential_method="cs", sequential_tuning_n=5000.0, minimum_lift=0.05)
    with override_settings(
        COPYLIFT_REPORT_SEQUENTIAL_METHOD="msprt",
        COPYLIFT_REPORT_CORRECTION="bh",
        COPYLIFT_REPORT_SEQUENTIAL_TUNING_N=20_000.0,
        COPYLIFT_REPORT_MINIMUM_LIFT=0.1,
    ):
        options = ReportOptions()
        assert ReportOptions(correction="holm").correction == "holm"  # an explicit value wins
    assert (options.sequential_method, options.correction) == ("msprt", "")  # the experiment's plan decides
    assert (options.sequential_tuning_n, options.minimum_lift) == (20_000.0, 0.1)


def test_the_report_follows_the_experiments_correction_unless_asked_for_another(running):
    from experiments.models import Experiment

    hand_built_totals(running, {"control": 100, "llm-l040": 100, "llm-l060": 200})
    Experiment.objects.filter(pk=running.pk).update(correction="bh")
    running.refresh_from_db()
    assert services.report_build(experiment=running, backfill="never").correction == "bh"
    asked = services.report_build(experiment=running, options=ReportOptions(correction="holm"), backfill="never")
    assert asked.correction == "holm"


def test_options_are_validated_and_applied(running):
    hand_built_totals(running, {"control": 100, "llm-l040": 100, "llm-l060": 200})
    report = services.report_build(
        experiment=running, options=ReportOptions(sequential_method="msprt", correction="bh"), backfill="never"
    )
    assert report.sequential_method == "msprt" and report.correction == "bh"
    with pytest.raises(ValueError, match="sequential_method"):
        ReportOptions(sequential_method="bayes")
    group = services.report_build(
        experiment=running, options=ReportOptions(sequential_method="group_sequential"), backfill="never"
    )
    assert group.variants[1].metrics["ctr"].lift.sequential_p_value is not None


def test_stopped_experiment_without_result_is_inconclusive(two_arm):
    two_arm.status = Experiment.Status.STOPPED
    two_arm.stopped_at = datetime.now(UTC)
    n = 3_000
    report = assemble(two_arm, [{"control": _aggregates(n, n * 0.09), "llm-l060": _aggregates(n, n * 0.091)}])
    assert report.decision.status == "inconclusive"


def test_an_impossible_rate_is_flagged_in_the_data_quality_panel(running):
    """Totals that no real visitor makes (more clicks than impressions in a whole arm) are named as
    such in the JSON, the warnings and the page, instead of reading as a +2,000 % lift."""
    hand_built_totals(running, {"control": 100, "llm-l040": 100, "llm-l060": 100})
    assert services.report_build(experiment=running, backfill="never").data_quality.impossible_rates == []
    treatment = running.variants.get(key="llm-l060")
    UnitTotals.objects.filter(experiment=running, variant=treatment).update(clicks=F("impressions") * 3)
    report = services.report_build(experiment=running, backfill="never")
    assert report.data_quality.impossible_rates == ["llm-l060: ctr 300.0%"]
    assert report.data_quality.quarantined_events == 0
    assert any(w.startswith("impossible rates (above 100 %): llm-l060") for w in report.warnings)
    assert report.to_dict()["data_quality"]["impossible_rates"] == ["llm-l060: ctr 300.0%"]
