"""One scale per metric: revenue absolute, rates relative, or as configured; headlines agree."""

import json
from dataclasses import replace

import pytest

from analytics.stats import StatsConfig
from analytics.stats.msprt_tuning import msprt_tau_for_mde
from analytics.stats.scale import analyze_metric_on_scale, config_for_metric, headline, metric_scale
from tests.analytics.stats.datasets import MEAN_DATASETS, RATIO_DATASETS


@pytest.mark.parametrize(
    ("metric", "configured", "expected"),
    [
        ("revenue_per_unit", None, "absolute"),
        ("Revenue", None, "absolute"),
        ("ctr", None, "relative"),
        ("orders_per_unit", None, "relative"),
        ("revenue_per_unit", "relative", "relative"),
        ("ctr", "absolute", "absolute"),
    ],
)
def test_metric_scale(metric, configured, expected):
    assert metric_scale(metric, configured=configured) == expected


def test_bad_scale_raises():
    with pytest.raises(ValueError, match="scale"):
        metric_scale("ctr", configured="log")


def test_config_for_metric_carries_the_tuned_tau():
    tuning = msprt_tau_for_mde(0.2, scale="absolute", baseline_mean=1.8, config=StatsConfig(difference_type="absolute"))
    config = config_for_metric(StatsConfig(sequential_method="msprt"), metric="revenue_per_unit", msprt_tuning=tuning)
    assert config.difference_type == "absolute" and config.msprt_tau == tuning.tau
    assert config.sequential_method == "msprt"


@pytest.mark.parametrize(
    ("metric", "stats", "scale"),
    [("revenue_per_unit", MEAN_DATASETS[1], "absolute"), ("ctr", RATIO_DATASETS[4], "relative")],
)
def test_headline_numbers_share_one_scale(metric, stats, scale):
    control, treatment = stats
    analysis = analyze_metric_on_scale(control, {"llm": treatment}, metric=metric)
    comparison = analysis.comparisons[0]
    top = headline(comparison)
    assert top.scale == scale and top.error is None
    lift = comparison.fixed.absolute if scale == "absolute" else comparison.fixed.relative
    assert (top.estimate, top.ci_lower, top.p_value) == (lift.estimate, lift.ci_lower, lift.p_value)
    assert comparison.sequential.difference_type == comparison.bayesian.difference_type == scale
    # The decision and the sequential interval are on the same scale as the estimate.
    assert top.sequential_ci_lower <= top.estimate <= top.sequential_ci_upper
    json.dumps(top.to_dict(), allow_nan=False)


def test_headline_refuses_mixed_scales():
    control, treatment = MEAN_DATASETS[1]
    comparison = analyze_metric_on_scale(control, {"llm": treatment}, metric="revenue").comparisons[0]
    mixed = replace(comparison, bayesian=replace(comparison.bayesian, difference_type="relative"))
    assert "different scales" in headline(mixed).error
