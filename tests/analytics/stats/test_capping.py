"""Capping per-unit values: one pooled threshold, reported shares, and the variance it saves."""

import json

import numpy as np
import pytest

from analytics.stats import SampleMeanStatistic, StatsConfig, fixed_horizon_test
from analytics.stats.capping import cap_arms, cap_threshold, cap_values


def test_cap_values_and_shares():
    capped, summary = cap_values([0, 0, 10, 20, 500], 50.0)
    assert capped.tolist() == [0, 0, 10, 20, 50]
    assert summary.capped_units == 1 and summary.capped_share == pytest.approx(0.2)
    assert summary.total_before == 530 and summary.total_after == 80
    assert summary.capped_mass_share == pytest.approx(450 / 530)
    same, none = cap_values([1.0, 2.0], None)
    assert same.tolist() == [1.0, 2.0] and none.capped_units == 0 and none.cap is None
    json.dumps(summary.to_dict(), allow_nan=False)


def test_percentile_is_pooled_over_arms_and_can_ignore_zeros():
    arms = {"control": [0, 0, 0, 1, 2], "treatment": [0, 3, 4, 5, 100]}
    pooled = np.array([0, 0, 0, 1, 2, 0, 3, 4, 5, 100], dtype=float)
    assert cap_threshold(arms, percentile=90) == pytest.approx(np.percentile(pooled, 90))
    assert cap_threshold(arms, percentile=50, ignore_zeros=True) == pytest.approx(
        np.percentile([1, 2, 3, 4, 5, 100], 50)
    )
    assert cap_threshold({"a": [0, 0]}, percentile=99, ignore_zeros=True) is None


def test_cap_arms_uses_one_threshold_for_all_arms():
    arms = {"control": [0, 10, 20, 30], "treatment": [0, 10, 200, 300]}
    capped, result = cap_arms(arms, percentile=75)
    assert result.method == "percentile" and result.cap == pytest.approx(
        np.percentile([0, 10, 20, 30, 0, 10, 200, 300], 75)
    )
    assert capped["control"].max() <= result.cap and capped["treatment"].max() == pytest.approx(result.cap)
    assert result.arms["treatment"].capped_units == 2 and result.pooled.capped_units == 2
    _, absolute = cap_arms(arms, cap=25.0)
    assert absolute.method == "absolute" and absolute.pooled.capped_share == pytest.approx(3 / 8)
    json.dumps(result.to_dict(), allow_nan=False)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({}, "exactly one"), ({"cap": 1.0, "percentile": 99}, "exactly one"), ({"percentile": 0}, "percentile")],
)
def test_bad_settings_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        cap_arms({"a": [1.0]}, **kwargs)
    with pytest.raises(ValueError, match="finite"):
        cap_values([np.inf], 1.0)


def test_capping_narrows_the_revenue_interval():
    """Whale-heavy revenue: capping at the pooled 99th non-zero percentile shrinks the CI a lot."""
    rng = np.random.default_rng(9)

    def revenue(n):
        orders = rng.random(n) < 0.04
        return np.where(orders, rng.lognormal(3.5, 1.5, n), 0.0)

    arms = {"control": revenue(5000), "treatment": revenue(5000)}
    capped, result = cap_arms(arms, percentile=99, ignore_zeros=True)
    config = StatsConfig(difference_type="absolute")
    raw = fixed_horizon_test(*(SampleMeanStatistic.from_values(arms[k]) for k in ("control", "treatment")), config)
    cut = fixed_horizon_test(*(SampleMeanStatistic.from_values(capped[k]) for k in ("control", "treatment")), config)
    assert result.pooled.capped_share < 0.001 and result.pooled.capped_mass_share > 0.05
    assert (cut.ci_upper - cut.ci_lower) < 0.8 * (raw.ci_upper - raw.ci_lower)
