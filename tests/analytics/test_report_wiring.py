"""The analyst-grade methods wired into the lift report: one scale per metric, zero-event arms, the tuned
mSPRT τ, group-sequential looks by observed information, revenue capping and guardrails."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from django.utils import timezone

from analytics import services
from analytics.report.assembly import report_assemble
from analytics.report.looks import Look
from analytics.report.options import ReportOptions
from analytics.report.types import Report
from analytics.stats import msprt_tau_for_mde
from experiments.models import Experiment
from tests.analytics.factories import Truth
from tests.analytics.test_report import _aggregates
from tests.analytics.test_report_contract import with_traffic

pytestmark = pytest.mark.django_db


def assemble(experiment: Experiment, looks_by_variant: list[dict], options: ReportOptions | None = None) -> Report:
    """Daily looks ending now, one per entry, from aggregates by variant key."""
    variants = list(experiment.variants.all())
    ids = {v.key: v.pk for v in variants}
    now = timezone.now()
    count = len(looks_by_variant)
    looks = [
        Look(
            day=(now - timedelta(days=count - i - 1)).date(),
            taken_at=now - timedelta(days=count - i - 1),
            source="totals",
            aggregates={ids[key]: agg for key, agg in look.items()},
        )
        for i, look in enumerate(looks_by_variant)
    ]
    return report_assemble(
        experiment=experiment, variants=variants, looks=looks, options=options or ReportOptions(), now=now
    )


def test_each_metric_has_one_scale_for_its_headline(two_arm):
    n = 40_000
    report = assemble(two_arm, [{"control": _aggregates(n, n * 0.09), "llm-l060": _aggregates(n, n * 0.105)}])
    treatment = report.variants[1].metrics
    revenue, cvr = treatment["revenue_per_unit"].lift, treatment["cvr"].lift
    assert revenue.scale == "absolute" and revenue.estimate == pytest.approx(revenue.absolute)
    assert revenue.estimate_sequential_ci == revenue.sequential_ci_absolute
    assert cvr.scale == "relative" and cvr.estimate == pytest.approx(cvr.relative)
    assert cvr.estimate_sequential_ci == cvr.sequential_ci and cvr.method == "welch_t"
    assert report.metric_settings["revenue_per_unit"].scale == "absolute"
    assert report.metric_settings["cvr"].scale_note is None


def test_a_control_without_conversions_is_decided_on_the_absolute_lift(two_arm):
    n = 40_000
    looks = [{"control": _aggregates(n, n * 0.09, orders=0), "llm-l060": _aggregates(n, n * 0.09, orders=300)}]
    report = assemble(two_arm, looks)
    lift = report.variants[1].metrics["cvr"].lift
    assert lift.method == "pooled_variance" and "pooled" in lift.method_warning
    assert lift.scale == "absolute" and lift.estimate == pytest.approx(300 / n)
    assert "no events" in report.metric_settings["cvr"].scale_note
    assert report.metric_scales["cvr"] == "absolute"
    assert report.decision.status == "ship"  # not "keep running" for ever
    assert "per unit" in report.decision.text


def test_msprt_tau_is_tuned_to_the_minimum_lift(two_arm):
    n = 5_000
    options = ReportOptions(sequential_method="msprt")
    report = assemble(
        two_arm, [{"control": _aggregates(n, n * 0.09), "llm-l060": _aggregates(n, n * 0.1)}], options=options
    )
    expected = msprt_tau_for_mde(options.minimum_lift, config=options.config(two_arm)).tau
    assert report.metric_settings["cvr"].msprt_tau == pytest.approx(expected)
    assert 0.5 * options.minimum_lift < expected < 1.2 * options.minimum_lift
    assert report.to_dict()["metric_settings"]["ctr"]["msprt_tau"] == pytest.approx(expected)


def test_plan_is_derived_from_the_power_calculator_and_shown(two_arm):
    n = 2_000
    looks = [{"control": _aggregates(k, k * 0.09), "llm-l060": _aggregates(k, k * 0.095)} for k in (n, 2 * n, 3 * n)]
    report = assemble(two_arm, looks, options=ReportOptions(sequential_method="group_sequential"))
    plan = report.plan
    assert plan.source == "power_calculator" and plan.planned_units > 6 * n and not plan.ended
    assert plan.planned_days is not None and plan.planned_days > 10  # 12,000 units in 10 days
    assert plan.information_fraction == pytest.approx(6 * n / plan.planned_units)
    lift = report.variants[1].metrics["cvr"].lift
    assert lift.sequential_p_value is not None


def test_group_sequential_plan_from_the_experiment_ends_and_keeps_its_decision(two_arm):
    Experiment.objects.filter(pk=two_arm.pk).update(planned_units=8_000)
    two_arm.refresh_from_db()
    looks = [
        {"control": _aggregates(k, k * 0.09), "llm-l060": _aggregates(k, k * 0.091)} for k in (2_000, 4_000, 6_000)
    ]
    report = assemble(two_arm, looks, options=ReportOptions(sequential_method="group_sequential"))
    assert report.plan.source == "experiment" and report.plan.planned_units == 8_000 and report.plan.ended
    lift = report.variants[1].metrics["cvr"].lift
    assert lift.warning == "after the planned final look: the decision is the final look's"
    assert lift.sequential_decision == "stop_no_effect"
    assert report.decision.status == "stop_no_effect"


def test_a_harmed_guardrail_blocks_shipping_and_says_why(two_arm):
    Experiment.objects.filter(pk=two_arm.pk).update(guardrail_metrics=["atc_rate"])
    two_arm.refresh_from_db()
    n = 40_000
    control = _aggregates(n, n * 0.09)
    treatment = _aggregates(n, n * 0.105)
    harmed = n * 0.02
    treatment = dataclasses.replace(
        treatment, add_to_carts=harmed, sq_add_to_carts=harmed, x_add_to_carts_clicks=harmed
    )
    report = assemble(two_arm, [{"control": control, "llm-l060": treatment}])
    assert report.guardrail_metrics == ["atc_rate"] and report.metric_settings["atc_rate"].guardrail
    assert report.decision.status == "guardrail_harm"
    assert report.decision.blocked_by == ["llm-l060: atc_rate"]
    assert "harms add-to-cart rate" in report.decision.text
    Experiment.objects.filter(pk=two_arm.pk).update(guardrail_metrics=[])
    two_arm.refresh_from_db()
    assert assemble(two_arm, [{"control": control, "llm-l060": treatment}]).decision.status == "ship"


def test_revenue_per_unit_is_capped_at_the_99th_percentile(make_experiment):
    running = with_traffic(
        make_experiment, "capped", units=3_000, days=2, seed=3, truths={"llm-l060": Truth(0.13, 0.05)}
    )
    report = services.report_build(experiment=running, backfill="never")
    capping = report.revenue_capping
    assert capping is not None and capping.percentile == 99 and capping.cap is not None
    assert capping.revenue_after <= capping.revenue_before
    assert capping.capped_units >= 1 and 0 < capping.capped_unit_share < 0.01
    uncapped = services.report_build(
        experiment=running, backfill="never", options=ReportOptions(revenue_cap_percentile=0)
    )
    assert uncapped.revenue_capping is None
    # The variants show the uncapped revenue either way; only the test of revenue per unit changes.
    assert [v.revenue for v in report.variants] == [v.revenue for v in uncapped.variants]
    assert sum(v.revenue for v in report.variants) == pytest.approx(capping.revenue_before)


def test_page_and_csv_show_the_plan_capping_guardrails_and_headline(make_experiment, analyst):
    from django.test import Client

    from analytics.report.csv_export import CSV_COLUMNS, report_csv

    running = with_traffic(
        make_experiment, "shown", units=1_500, days=2, seed=4, truths={"llm-l060": Truth(0.13, 0.05)}
    )
    Experiment.objects.filter(pk=running.pk).update(guardrail_metrics=["atc_rate"], planned_units=20_000)
    client = Client()
    client.force_login(analyst)
    html = client.get(f"/reports/{running.key}/?sequential_method=group_sequential").content.decode()
    assert "Plan and adjustments" in html and "Planned units: 20,000" in html and "set on the experiment" in html
    assert "Revenue per unit capped at" in html and "Guardrails: atc_rate" in html
    assert '<span class="badge warn">guardrail</span>' in html
    running.refresh_from_db()
    report = services.report_build(experiment=running, backfill="never")
    rows = report_csv(report).splitlines()
    assert rows[0].split(",") == list(CSV_COLUMNS) and CSV_COLUMNS[-16:-5] == (
        "estimate",
        "estimate_ci_lower",
        "estimate_ci_upper",
        "estimate_sequential_ci_lower",
        "estimate_sequential_ci_upper",
        "method",
        "guardrail",
        "breakdown",
        "breakdown_key",
        "excluded",
        "simulated_traffic",
    )
    atc_treatment = [r for r in rows if ",llm-l060," in r and ",atc_rate," in r]
    # guardrail true; no breakdown on a pooled row; real (not simulated) traffic
    # (then CUPED's five columns, empty: this traffic has no pre-exposure events)
    assert atc_treatment and atc_treatment[0].endswith(",welch_t,true,,,,false,,,,,")
