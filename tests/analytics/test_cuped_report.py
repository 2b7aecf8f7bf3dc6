"""CUPED in the report: the covariate (each unit's own events before its first exposure, in other
experiments), the adjusted lift beside the unadjusted one, and the options that switch it off."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.utils import timezone

from analytics import services
from analytics.event_scans import pre_exposure_columns, pre_exposure_sums
from analytics.report.csv_export import report_csv
from analytics.report.options import ReportOptions
from analytics.selectors import COLUMNS, PRODUCTS
from analytics.stats import StatsConfig
from analytics.stats.cuped import RegressionAdjustedRatioStatistic, regression_adjusted_test
from ingest.models import Event, EventType, UnitTotals
from tests.analytics.factories import Truth, category_product, traffic
from tests.analytics.test_report_contract import CUPED_LIFT, UNADJUSTED_LIFT, shape
from tests.analytics.test_report_pages import browser_for

pytestmark = pytest.mark.django_db

LOOKBACK = 14


def _traffic_seen_before(make_experiment, experiment, *, units: int, rng_seed: int, treatment: Truth):
    """14 days of traffic on `experiment` whose visitors mostly browsed an earlier experiment in the 10 days
    before: the same unit ids (prefix and seed), their own luck (rng_seed), the same keenness."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    earlier = make_experiment("earlier", start=True, product=category_product("Electronics", "ELEC-PRE"))
    before = units * 4 // 5
    traffic(earlier, units=before, days=14, seed=5, rng_seed=50, start=today - timedelta(days=24), visitor_spread=1.0)
    traffic(
        experiment,
        units=units,
        days=14,
        seed=5,
        rng_seed=rng_seed,
        start=today - timedelta(days=14),
        visitor_spread=1.0,
        truths={"llm-l060": treatment},
    )
    return experiment


@pytest.fixture
def seen_before(make_experiment, two_arm):
    return _traffic_seen_before(make_experiment, two_arm, units=3000, rng_seed=51, treatment=Truth(0.10, 0.045))


def _independent_pre_arrays(experiment) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per variant: post and pre totals per unit, the window applied in Python to every stored event."""
    by_unit = defaultdict(list)
    for event in Event.objects.exclude(experiment=experiment):
        by_unit[event.unit].append(event)
    arrays: dict[int, tuple[list, list]] = defaultdict(lambda: ([], []))
    for row in UnitTotals.objects.filter(experiment=experiment).order_by("variant_id", "unit"):
        pre = [0.0] * len(COLUMNS)
        if row.first_exposure is not None:
            for event in by_unit.get(row.unit, []):
                if row.first_exposure - timedelta(days=LOOKBACK) <= event.ts < row.first_exposure:
                    pre[("impressions", "clicks", "add_to_carts", "orders").index(COLUMNS[event.type])] += 1
                    if event.type == EventType.ORDER:
                        pre[4] += event.revenue or 0.0
        post = [float(getattr(row, column)) for column in COLUMNS]
        arrays[row.variant_id][0].append(post)
        arrays[row.variant_id][1].append(pre)
    return {key: (np.asarray(post), np.asarray(pre)) for key, (post, pre) in arrays.items()}


def _expected_sums(post: np.ndarray, pre: np.ndarray, cap: float | None = None) -> dict[str, float]:
    """`pre_exposure_columns()` summed in numpy over one variant's unit rows."""
    post, pre = post.copy(), pre.copy()
    revenue = COLUMNS.index("revenue")
    if cap is not None:
        post[:, revenue] = np.minimum(post[:, revenue], cap)
        pre[:, revenue] = np.minimum(pre[:, revenue], cap)
    col = {name: index for index, name in enumerate(COLUMNS)}
    sums = {"units_with_pre": int((pre.sum(axis=1) > 0).sum())}
    for name, i in col.items():
        sums |= {f"pre_{name}": pre[:, i].sum(), f"sq_pre_{name}": (pre[:, i] ** 2).sum()}
        sums |= {f"x_{name}_pre_{other}": (post[:, i] * pre[:, j]).sum() for other, j in col.items()}
    for a, b in PRODUCTS:
        sums[f"x_pre_{a}_pre_{b}"] = (pre[:, col[a]] * pre[:, col[b]]).sum()
    return sums


@pytest.mark.parametrize("cap", [None, 45.0])
def test_the_covariate_is_each_units_own_events_in_the_window_before_its_first_exposure(seen_before, cap):
    sums = pre_exposure_sums(experiment=seen_before, lookback_days=LOOKBACK, caps={"revenue": cap} if cap else None)
    expected = _independent_pre_arrays(seen_before)
    assert set(sums) == set(expected)
    for variant_id, (post, pre) in expected.items():
        want = _expected_sums(post, pre, cap)
        assert set(sums[variant_id]) == set(pre_exposure_columns()) == set(want)
        for name, value in want.items():
            assert sums[variant_id][name] == pytest.approx(value, rel=1e-9, abs=1e-9), name
    assert sum(s["units_with_pre"] for s in sums.values()) > 1000  # most units were seen before


def test_window_edges_and_this_experiments_own_events(make_experiment, two_arm):
    earlier = make_experiment("earlier", start=True, product=category_product("Electronics", "ELEC-PRE"))
    now = timezone.now().replace(microsecond=0)
    variant = two_arm.variants.get(key="control")
    other_variant = earlier.variants.get(key="control")

    def event(experiment, variant, unit, kind, ts, n):
        Event.objects.create(
            experiment=experiment, variant=variant, event_id=f"{unit}-{n}", type=kind, unit=unit, ts=ts, received_at=now
        )

    UnitTotals.objects.create(
        experiment=two_arm, variant=variant, unit="v", impressions=1, first_exposure=now, first_seen=now, last_seen=now
    )
    event(earlier, other_variant, "v", EventType.IMPRESSION, now - timedelta(days=LOOKBACK, hours=1), 1)  # too early
    event(earlier, other_variant, "v", EventType.IMPRESSION, now - timedelta(days=LOOKBACK - 1), 2)  # counted
    event(earlier, other_variant, "v", EventType.CLICK, now - timedelta(hours=1), 3)  # counted
    event(earlier, other_variant, "v", EventType.CLICK, now + timedelta(hours=1), 4)  # after exposure
    event(two_arm, variant, "v", EventType.CLICK, now - timedelta(hours=2), 5)  # this experiment's own
    event(earlier, other_variant, "w", EventType.IMPRESSION, now - timedelta(hours=1), 6)  # another unit
    sums = pre_exposure_sums(experiment=two_arm, lookback_days=LOOKBACK)[variant.pk]
    assert sums["units_with_pre"] == 1
    assert [sums[f"pre_{c}"] for c in COLUMNS] == [1.0, 1.0, 0.0, 0.0, 0.0]
    assert sums["x_impressions_pre_clicks"] == 1.0 and sums["x_clicks_pre_clicks"] == 0.0
    untouched = pre_exposure_sums(experiment=two_arm, lookback_days=LOOKBACK)[two_arm.variants.get(key="llm-l060").pk]
    assert set(untouched.values()) == {0.0}


def test_report_lift_is_adjusted_with_the_unadjusted_one_beside_it(seen_before):
    report = services.report_build(experiment=seen_before, backfill="never")
    plain = services.report_build(
        experiment=seen_before, backfill="never", options=ReportOptions(cuped_lookback_days=0)
    )
    assert plain.cuped is None
    assert report.cuped is not None and report.cuped.lookback_days == LOOKBACK
    assert report.cuped.units == 3000 and report.cuped.units_with_pre_exposure_data > 1000
    assert {"ctr", "cvr", "revenue_per_unit"} <= set(report.cuped.metrics)
    treatment = report.treatments[0]
    plain_treatment = plain.treatments[0]
    for metric in ("ctr", "cvr", "orders_per_unit", "revenue_per_unit"):
        lift = treatment.metrics[metric].lift
        before = plain_treatment.metrics[metric].lift
        assert lift.cuped is not None and before.cuped is None and before.unadjusted is None
        # The unadjusted numbers are exactly what the report without CUPED says.
        assert lift.unadjusted.estimate == before.estimate
        assert lift.unadjusted.ci == before.ci and lift.unadjusted.p_value == before.p_value
        # Visitors' keenness carries over: the covariate removes variance and narrows the interval.
        assert lift.cuped.variance_reduction > (0.02 if metric == "revenue_per_unit" else 0.05), metric
        width = lift.estimate_ci[1] - lift.estimate_ci[0]
        assert width < before.estimate_ci[1] - before.estimate_ci[0], metric
        assert lift.estimate != before.estimate
        # The variant's own value stays the plain mean (CUPED adjusts the comparison, not the arm).
        assert treatment.metrics[metric].value == plain_treatment.metrics[metric].value
    data = report.to_dict()
    json_lift = data["variants"][1]["metrics"]["ctr"]["lift"]
    assert shape(json_lift["unadjusted"]) == UNADJUSTED_LIFT
    assert shape(json_lift["cuped"]) == CUPED_LIFT


def test_report_lift_matches_the_engine_on_independently_computed_units(seen_before):
    report = services.report_build(experiment=seen_before, backfill="never")
    arrays = _independent_pre_arrays(seen_before)
    control = seen_before.variants.get(key="control").pk
    treatment = seen_before.variants.get(key="llm-l060").pk

    def stat(variant_id):
        post, pre = arrays[variant_id]
        return RegressionAdjustedRatioStatistic.from_units(post[:, 1], post[:, 0], pre[:, 1], pre[:, 0])

    expected = regression_adjusted_test(stat(control), stat(treatment), StatsConfig(alpha=seen_before.alpha))
    lift = report.treatments[0].metrics["ctr"].lift
    assert lift.relative == pytest.approx(expected.adjusted.relative.estimate, rel=1e-9)
    assert lift.ci[0] == pytest.approx(expected.adjusted.relative.ci_lower, rel=1e-9)
    assert lift.p_value == pytest.approx(expected.adjusted.p_value, rel=1e-9)
    assert lift.cuped.theta == pytest.approx(expected.theta, rel=1e-9)
    assert lift.cuped.variance_reduction == pytest.approx(expected.variance_reduction, rel=1e-9)


def test_no_pre_exposure_data_leaves_the_lift_unadjusted_and_says_so(two_arm):
    traffic(two_arm, units=600, days=5, seed=3)
    report = services.report_build(experiment=two_arm, backfill="never")
    assert report.cuped.metrics == [] and report.cuped.units_with_pre_exposure_data == 0
    assert "No unit has events" in report.cuped.note
    lift = report.treatments[0].metrics["ctr"].lift
    assert lift.cuped is None and lift.unadjusted is None


def test_api_option_and_its_bad_values(analyst_client, seen_before):
    url = f"/api/v1/experiments/{seen_before.key}/report"
    response = analyst_client.get(url, {"cuped_lookback_days": "0"})
    assert response.status_code == 200 and response.json()["cuped"] is None
    for bad in ("-1", "ninety", "91", "1.5"):
        response = analyst_client.get(url, {"cuped_lookback_days": bad})
        assert response.status_code == 400, bad
        assert "cuped_lookback_days" in response.json()["fields"], bad
    assert analyst_client.get(url).json()["cuped"]["metrics"]


def test_csv_and_page_show_the_adjustment(analyst, seen_before):
    report = services.report_build(experiment=seen_before, backfill="never")
    rows = list(csv.DictReader(io.StringIO(report_csv(report))))
    row = next(r for r in rows if r["variant"] == "llm-l060" and r["metric"] == "ctr" and not r["breakdown"])
    lift = report.treatments[0].metrics["ctr"].lift
    assert float(row["cuped_variance_reduction"]) == pytest.approx(lift.cuped.variance_reduction)
    assert float(row["unadjusted_estimate"]) == pytest.approx(lift.unadjusted.estimate)
    assert float(row["estimate"]) == pytest.approx(lift.estimate)
    control_row = next(r for r in rows if r["variant"] == "control" and r["metric"] == "ctr")
    assert control_row["cuped_variance_reduction"] == ""
    html = browser_for(analyst).get(f"/reports/{seen_before.key}/").content.decode()
    assert "CUPED (14-day lookback)" in html and 'class="muted small cuped"' in html


def test_chance_to_beat_control_reads_the_adjusted_lift(seen_before):
    from analytics.stats.bayesian import bayesian_test
    from analytics.stats.statistics import RatioStatistic

    report = services.report_build(experiment=seen_before, backfill="never")
    plain = services.report_build(
        experiment=seen_before, backfill="never", options=ReportOptions(cuped_lookback_days=0)
    )
    lift = report.treatments[0].metrics["ctr"].lift
    stat = RatioStatistic(n=1, m_sum=1, m_sum_squares=1, d_sum=1, d_sum_squares=1, m_d_sum_of_products=1)
    # The adjusted relative lift's standard error, from its fixed-horizon interval.
    se = (lift.ci[1] - lift.ci[0]) / (2 * 1.959963984540054)
    expected = bayesian_test(stat, stat, StatsConfig(alpha=seen_before.alpha), lift=(lift.relative, se))
    assert lift.chance_to_beat_control == pytest.approx(expected.chance_to_beat_control, rel=1e-3)
    assert lift.chance_to_beat_control != plain.treatments[0].metrics["ctr"].lift.chance_to_beat_control


def _prior_orders(experiment, *, shift_for: str | None = None, late: bool = False) -> dict[str, int]:
    """Every second unit sends its prior orders with its first impression: a Poisson count of mean 2 × its
    keenness (the keenness that drives its behaviour here); `shift_for`: that arm's units claim 5 more
    (arm-dependent, forged); `late`: sent an hour after the first exposure instead."""
    from ingest.models import UnitAttributes
    from simulator.traffic import visitor_propensity

    rng = np.random.default_rng(9)
    rows, values = [], {}
    rows_of_units = UnitTotals.objects.filter(experiment=experiment, first_exposure__isnull=False)
    for unit, variant_key, exposed in rows_of_units.values_list("unit", "variant__key", "first_exposure"):
        if rng.random() < 0.5:
            continue
        value = int(rng.poisson(2.0 * visitor_propensity(unit, 1.0))) + (5 if variant_key == shift_for else 0)
        values[unit] = value
        sent_at = exposed + timedelta(hours=1) if late else exposed
        rows.append(
            UnitAttributes(
                experiment=experiment, unit=unit, prior_orders=value, sent_at=sent_at, created_at=timezone.now()
            )
        )
    UnitAttributes.objects.bulk_create(rows)
    return values


@pytest.fixture
def keen_visitors(two_arm):
    traffic(two_arm, units=3000, days=14, seed=6, visitor_spread=1.0, truths={"llm-l060": Truth(0.10, 0.045)})
    return two_arm


def test_prior_orders_are_the_covariate_where_no_unit_was_seen_before(keen_visitors):
    values = _prior_orders(keen_visitors)
    report = services.report_build(experiment=keen_visitors, backfill="never")
    assert report.cuped.covariate == "prior_orders" and report.cuped.units_with_pre_exposure_data == len(values)
    assert {"ctr", "cvr", "orders_per_unit"} <= set(report.cuped.metrics) and not report.cuped.imbalanced
    assert "prior orders" in report.cuped.note
    # The engine on units computed here: CTR's covariate is the ratio x / 1 (x = 0 where none was sent).
    arrays: dict[str, tuple[list, list, list]] = {}
    for unit, key, clicks, impressions in UnitTotals.objects.filter(experiment=keen_visitors).values_list(
        "unit", "variant__key", "clicks", "impressions"
    ):
        m, d, x = arrays.setdefault(key, ([], [], []))
        m.append(clicks), d.append(impressions), x.append(values.get(unit, 0))

    def stat(key):
        m, d, x = arrays[key]
        return RegressionAdjustedRatioStatistic.from_units(m, d, x, [1.0] * len(x))

    expected = regression_adjusted_test(stat("control"), stat("llm-l060"), StatsConfig(alpha=keen_visitors.alpha))
    lift = report.treatments[0].metrics["ctr"].lift
    assert lift.relative == pytest.approx(expected.adjusted.relative.estimate, rel=1e-9)
    assert lift.p_value == pytest.approx(expected.adjusted.p_value, rel=1e-9)
    assert lift.cuped.variance_reduction == pytest.approx(expected.variance_reduction, rel=1e-9)
    assert lift.cuped.variance_reduction > 0.01


def test_a_covariate_out_of_balance_between_arms_is_not_used(keen_visitors):
    _prior_orders(keen_visitors, shift_for="llm-l060")
    report = services.report_build(experiment=keen_visitors, backfill="never")
    assert report.cuped.covariate == "prior_orders"
    assert "llm-l060: ctr" in report.cuped.imbalanced and "ctr" not in report.cuped.metrics
    lift = report.treatments[0].metrics["ctr"].lift
    assert lift.cuped is None and lift.unadjusted is None
    assert any("CUPED's covariate differs between the arms" in w for w in report.warnings)


def test_a_zero_event_arm_keeps_its_exact_test_unadjusted(make_experiment, two_arm):
    # Copy that breaks ordering: no order at all in the treatment arm.
    _traffic_seen_before(make_experiment, two_arm, units=1500, rng_seed=52, treatment=Truth(0.10, 0.0))
    report = services.report_build(experiment=two_arm, backfill="never")
    cvr = report.treatments[0].metrics["cvr"].lift
    assert cvr.method in ("fisher_exact", "pooled_variance") and cvr.cuped is None
    assert report.treatments[0].metrics["ctr"].lift.cuped is not None  # its clicks are adjusted as usual


def test_a_count_sent_after_the_first_exposure_is_no_covariate(keen_visitors):
    """It may count orders made in the experiment, which depend on the arm."""
    _prior_orders(keen_visitors, late=True)
    report = services.report_build(experiment=keen_visitors, backfill="never")
    assert report.cuped.covariate == "events" and report.cuped.units_with_pre_exposure_data == 0
    assert report.cuped.metrics == []


def test_the_reports_reads_share_one_snapshot_of_the_database():
    """Outside any transaction (a web request's): one REPEATABLE READ transaction on PostgreSQL. Run in a
    thread, whose own connection is outside the test's transaction (and writes nothing, so no flush)."""
    import threading

    from django.db import connection

    from analytics.adjustments import consistent_reads

    if connection.vendor != "postgresql":
        # SQLite's test database is one in-memory file that another connection cannot read while the test's
        # transaction holds it; there, only the nested case runs: inside a transaction, that one stands.
        depth = len(connection.savepoint_ids)
        with consistent_reads():
            assert connection.in_atomic_block and len(connection.savepoint_ids) == depth
        return
    seen: dict[str, object] = {}

    def read() -> None:
        try:
            assert not connection.in_atomic_block
            with consistent_reads():
                seen["atomic"] = connection.in_atomic_block
                if connection.vendor == "postgresql":
                    with connection.cursor() as cursor:
                        cursor.execute("SHOW transaction_isolation")
                        seen["isolation"] = cursor.fetchone()[0]
            seen["after"] = connection.in_atomic_block
        finally:
            connection.close()

    thread = threading.Thread(target=read)
    thread.start()
    thread.join(timeout=60)
    assert seen == {"atomic": True, "isolation": "repeatable read", "after": False}


def test_lift_report_refuses_a_lookback_out_of_range(seen_before):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="--cuped-lookback-days must lie in \\[0, 90\\]"):
        call_command("lift_report", seen_before.key, "--cuped-lookback-days", "91")
    out = io.StringIO()
    call_command("lift_report", seen_before.key, "--cuped-lookback-days", "0", "--no-backfill", stdout=out)
    assert '"cuped": null' in out.getvalue()
