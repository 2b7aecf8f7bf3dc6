"""The one-call report API: contents, multiple-comparison wiring, JSON safety, no exceptions."""

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.stats import (
    ProportionStatistic,
    RatioStatistic,
    SampleMeanStatistic,
    StatsConfig,
    adjust_p_values,
    analyze_experiment,
    analyze_metric,
    fixed_horizon_test,
)
from tests.analytics.stats.datasets import RATIO_DATASETS


def _ctr(n: int, clicks: int, impressions: int) -> RatioStatistic:
    # One impression-heavy layout that is internally consistent: clicks <= impressions per unit.
    return RatioStatistic(
        n=n,
        m_sum=clicks,
        m_sum_squares=clicks * 1.3,
        d_sum=impressions,
        d_sum_squares=impressions * 2.6,
        m_d_sum_of_products=clicks * 2.4,
    )


def test_analyze_metric_returns_everything_the_report_needs():
    control = _ctr(20_000, 4000, 40_000)
    arms = {
        "λ=0.2": _ctr(20_000, 4520, 40_000),
        "λ=0.6": _ctr(20_000, 4080, 40_000),
        "λ=0.8": _ctr(20_000, 3600, 39_600),
    }
    result = analyze_metric(control, arms, metric="ctr")
    assert result.error is None and result.metric == "ctr" and result.correction == "holm"
    assert result.control.mean == pytest.approx(0.1) and result.control.denominator_total == 40_000
    assert [c.treatment for c in result.comparisons] == list(arms)
    raw = [c.p_value for c in result.comparisons]
    assert raw == [fixed_horizon_test(control, s).p_value for s in arms.values()]
    assert [c.p_value_adjusted for c in result.comparisons] == pytest.approx(adjust_p_values(raw, "holm"))
    first = result.comparisons[0]
    assert first.fixed.relative.estimate == pytest.approx(0.13)
    assert first.fixed.absolute.estimate == pytest.approx(0.013)
    assert result.comparisons[2].fixed.relative.estimate == pytest.approx(3600 / 39_600 / 0.1 - 1)
    assert first.sequential.method == "cs" and first.sequential.decision == "stop_increase"
    assert first.bayesian.chance_to_beat_control > 0.99
    assert first.significant_adjusted is True
    assert result.comparisons[1].significant_adjusted is False
    payload = json.dumps(result.to_dict(), allow_nan=False)
    assert '"config": {"alpha": 0.05' in payload


def test_bh_correction_and_group_sequential_are_configurable():
    control, treatment = RATIO_DATASETS[4]
    config = StatsConfig(correction="bh", sequential_method="group_sequential", planned_looks=10)
    result = analyze_metric(control, [treatment, treatment], config=config, look=10)
    assert result.correction == "bh"
    assert [c.treatment for c in result.comparisons] == ["treatment_1", "treatment_2"]
    assert result.comparisons[0].p_value_adjusted == pytest.approx(result.comparisons[0].p_value)  # BH, ties
    assert result.comparisons[0].sequential.method == "group_sequential"
    assert result.comparisons[0].sequential.decision == "stop_increase"


def test_one_arm_is_a_stated_error():
    control, _ = RATIO_DATASETS[0]
    result = analyze_metric(control, {}, metric="ctr")
    assert "only one arm" in result.error and result.comparisons == ()
    json.dumps(result.to_dict(), allow_nan=False)


def test_degenerate_arm_does_not_spoil_the_others():
    control, treatment = RATIO_DATASETS[4]
    empty = RatioStatistic(n=0, m_sum=0, m_sum_squares=0, d_sum=0, d_sum_squares=0, m_d_sum_of_products=0)
    result = analyze_metric(control, {"good": treatment, "empty": empty})
    good, bad = result.comparisons
    assert bad.fixed.error == "no units in treatment" and bad.p_value_adjusted is None
    # The family has one valid member, so the good arm's p-value is not inflated.
    assert good.p_value_adjusted == pytest.approx(good.p_value)
    assert result.treatments[1].error == "no units in empty" and result.treatments[1].mean is None
    json.dumps(result.to_dict(), allow_nan=False)


def test_analyze_experiment_with_srm_and_a_zero_unit_variant():
    names = ["control", "λ=0.4", "λ=0.6"]
    ctr = [_ctr(5000, 1000, 10_000), _ctr(5100, 1080, 10_150), _ctr(0, 0, 0)]
    orders = [
        SampleMeanStatistic(n=5000, sum=260, sum_squares=300),
        SampleMeanStatistic(n=5100, sum=290, sum_squares=330),
        SampleMeanStatistic(n=0, sum=0, sum_squares=0),
    ]
    result = analyze_experiment(
        variant_names=names, weights=[1, 1, 1], units=[5000, 5100, 0], metrics={"ctr": ctr, "orders": orders}
    )
    assert result.srm.flagged is True and result.srm.rows[2].units == 0
    assert [m.metric for m in result.metrics] == ["ctr", "orders"]
    assert result.metrics[0].comparisons[1].fixed.error == "no units in treatment"
    assert result.metrics[1].comparisons[0].fixed.p_value is not None
    json.dumps(result.to_dict(), allow_nan=False)


def test_analyze_experiment_metric_with_wrong_number_of_statistics():
    result = analyze_experiment(
        variant_names=["control", "b"], weights=[1, 1], units=[10, 10], metrics={"ctr": [_ctr(10, 1, 20)]}
    )
    assert "one per variant" in result.metrics[0].error


def _no_bad_floats(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_no_bad_floats(v) for v in value.values())
    if isinstance(value, list):
        return all(_no_bad_floats(v) for v in value)
    return True


numbers = st.one_of(
    st.integers(min_value=0, max_value=50_000),
    st.floats(min_value=-1e6, max_value=1e12, allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, 1.0, float("nan"), float("inf"), -1.0, 1e300]),
)
counts = st.one_of(st.integers(min_value=0, max_value=100_000), st.sampled_from([-1, 1, 2]))


@st.composite
def statistics(draw):
    kind = draw(st.sampled_from(["mean", "ratio", "proportion", "consistent_ratio"]))
    n = draw(counts)
    if kind == "mean":
        return SampleMeanStatistic(n=n, sum=draw(numbers), sum_squares=draw(numbers))
    if kind == "proportion":
        return ProportionStatistic(n=n, sum=draw(numbers))
    if kind == "ratio":
        return RatioStatistic(n, *(draw(numbers) for _ in range(5)))
    # Consistent data from a few unit types, often with zeros: the realistic degenerate cases.
    n = draw(st.integers(min_value=0, max_value=20_000))
    clicks = draw(st.integers(min_value=0, max_value=n))
    impressions = draw(st.integers(min_value=clicks, max_value=3 * n + clicks))
    return RatioStatistic(
        n=n,
        m_sum=clicks,
        m_sum_squares=clicks,
        d_sum=impressions,
        d_sum_squares=impressions * (impressions / n if n else 0) + impressions,
        m_d_sum_of_products=clicks * 2,
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    control=statistics(),
    treatments=st.lists(statistics(), min_size=0, max_size=3),
    method=st.sampled_from(["cs", "msprt", "group_sequential"]),
    difference_type=st.sampled_from(["relative", "absolute"]),
    look=st.one_of(st.none(), st.integers(min_value=1, max_value=40)),
)
def test_never_raises_and_never_emits_nan(control, treatments, method, difference_type, look):
    config = StatsConfig(sequential_method=method, difference_type=difference_type, min_units_per_arm=0)
    result = analyze_metric(control, treatments, config=config, look=look)
    payload = result.to_dict()
    assert _no_bad_floats(payload)
    json.dumps(payload, allow_nan=False)
    for comparison in result.comparisons:
        assert (comparison.fixed.p_value is None) == (comparison.fixed.error is not None)
        if comparison.fixed.p_value is not None:
            assert 0.0 <= comparison.fixed.p_value <= 1.0


def test_invalid_settings_raise():
    with pytest.raises(ValueError):
        StatsConfig(alpha=1.5)
    with pytest.raises(ValueError):
        StatsConfig(sequential_method="bayes")
    with pytest.raises(ValueError):
        StatsConfig(planned_looks=0)
