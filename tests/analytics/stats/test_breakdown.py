"""Catalog experiments: the pooled test over many products, and the vectorised per-row breakdown tests.

Expected numbers are computed here from raw per-unit data with numpy and scipy (the textbook
delta-method ratio variance from the per-unit covariance matrix, Welch-Satterthwaite degrees of
freedom), independently of analytics.stats, and checked against gbstats as well.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from analytics.stats import RatioStatistic, StatsConfig, adjust_p_values, fixed_horizon_test
from analytics.stats.breakdown import ArmArrays, adjust_rows, row_lifts
from tests.analytics.stats.gbstats_bridge import FOUR_DIGITS, gb_frequentist


def _catalog_units(rng: np.random.Generator, n_units: int, ctr: np.ndarray) -> np.ndarray:
    """Per (unit, product): impressions and clicks of a visitor who browses a few products of 40."""
    n_products = ctr.size
    per_unit_product = np.zeros((n_units, n_products, 2))
    for unit in range(n_units):
        seen = rng.choice(n_products, size=rng.integers(1, 6), replace=False)
        impressions = rng.integers(1, 4, size=seen.size)
        per_unit_product[unit, seen, 0] = impressions
        per_unit_product[unit, seen, 1] = rng.binomial(impressions, ctr[seen])
    return per_unit_product


def _independent_relative_test(c: np.ndarray, t: np.ndarray, alpha: float = 0.05) -> dict[str, float]:
    """Relative CTR lift of t over c from per-unit (clicks, impressions): numpy + scipy only."""

    def ratio_and_variance(units: np.ndarray) -> tuple[float, float, int]:
        clicks, impressions = units[:, 1], units[:, 0]
        n = len(units)
        mean_m, mean_d = clicks.mean(), impressions.mean()
        cov = np.cov(clicks, impressions, ddof=1)  # [[var_m, cov], [cov, var_d]]
        r = mean_m / mean_d
        # Var of the ratio of means, per unit (delta method): var_m/μd² − 2 μm cov/μd³ + μm² var_d/μd⁴.
        var = cov[0, 0] / mean_d**2 - 2 * mean_m * cov[0, 1] / mean_d**3 + mean_m**2 * cov[1, 1] / mean_d**4
        return r, var, n

    r_c, v_c, n_c = ratio_and_variance(c)
    r_t, v_t, n_t = ratio_and_variance(t)
    lift = r_t / r_c - 1
    se = np.sqrt(v_t / (r_c**2 * n_t) + v_c * r_t**2 / (r_c**4 * n_c))
    dof = (v_c / n_c + v_t / n_t) ** 2 / ((v_c / n_c) ** 2 / (n_c - 1) + (v_t / n_t) ** 2 / (n_t - 1))
    q = sps.t.ppf(1 - alpha / 2, dof)
    return {"lift": lift, "lower": lift - q * se, "upper": lift + q * se, "p": 2 * sps.t.sf(abs(lift / se), dof)}


def test_pooled_multi_product_ctr_matches_numpy_and_gbstats():
    rng = np.random.default_rng(2505)
    ctr = rng.uniform(0.05, 0.2, size=40)
    control = _catalog_units(rng, 3000, ctr)
    treatment = _catalog_units(rng, 3000, ctr * 1.08)
    excluded = [3, 17]  # products some arm had no copy for: left out of the pooled per-unit totals
    keep = np.ones(ctr.size, dtype=bool)
    keep[excluded] = False
    pooled = [arm[:, keep, :].sum(axis=1) for arm in (control, treatment)]
    # A unit that only saw excluded products has no pooled totals (ingestion writes no row for it).
    pooled = [arm[arm.sum(axis=1) > 0] for arm in pooled]
    expected = _independent_relative_test(*pooled)
    stats = [RatioStatistic.from_units(arm[:, 1], arm[:, 0]) for arm in pooled]
    ours = fixed_horizon_test(*stats, StatsConfig())
    theirs = gb_frequentist(*stats)
    for value, name in ((ours.estimate, "lift"), (ours.ci_lower, "lower"), (ours.ci_upper, "upper")):
        assert value == pytest.approx(expected[name], rel=FOUR_DIGITS)
    assert ours.p_value == pytest.approx(expected["p"], rel=FOUR_DIGITS)
    assert theirs.expected == pytest.approx(expected["lift"], rel=FOUR_DIGITS)
    assert theirs.p_value == pytest.approx(expected["p"], rel=FOUR_DIGITS)
    # Pooling per unit is not summing per-product statistics: a unit's clicks on two products are one observation.
    summed_sq = float((control[:, keep, 1] ** 2).sum())
    assert stats[0].m_sum_squares > summed_sq


def _arm(units_by_row: list[np.ndarray]) -> ArmArrays:
    def total(f):
        return np.array([f(u) for u in units_by_row], dtype=float)

    return ArmArrays(
        n=total(len),
        m_sum=total(lambda u: u[:, 1].sum()),
        m_sum_squares=total(lambda u: (u[:, 1] ** 2).sum()),
        d_sum=total(lambda u: u[:, 0].sum()),
        d_sum_squares=total(lambda u: (u[:, 0] ** 2).sum()),
        m_d_sum_of_products=total(lambda u: (u[:, 0] * u[:, 1]).sum()),
    )


def test_row_lifts_equal_the_scalar_test_and_gbstats_per_product():
    rng = np.random.default_rng(9)
    ctr = rng.uniform(0.05, 0.3, size=12)
    control_rows, treatment_rows = [], []
    for p in range(ctr.size):
        for rows, lift in ((control_rows, 1.0), (treatment_rows, 1.1)):
            n = int(rng.integers(30, 400))
            impressions = rng.integers(1, 5, size=n)
            rows.append(np.column_stack([impressions, rng.binomial(impressions, min(ctr[p] * lift, 1.0))]))
    # A row with one unit: no test there.
    control_rows.append(np.array([[2, 1]]))
    treatment_rows.append(np.array([[3, 1], [1, 0]]))
    result = row_lifts(_arm(control_rows), _arm(treatment_rows), relative=True, config=StatsConfig())
    for i, (c, t) in enumerate(zip(control_rows[:-1], treatment_rows[:-1], strict=True)):
        stats = [RatioStatistic.from_units(arm[:, 1], arm[:, 0]) for arm in (c, t)]
        scalar = fixed_horizon_test(*stats, StatsConfig())
        expected = _independent_relative_test(c, t)
        assert result.estimate[i] == pytest.approx(scalar.estimate, rel=1e-9)
        assert result.ci_lower[i] == pytest.approx(scalar.ci_lower, rel=1e-9)
        assert result.ci_upper[i] == pytest.approx(expected["upper"], rel=FOUR_DIGITS)
        assert result.p_value[i] == pytest.approx(scalar.p_value, rel=1e-9)
        assert result.p_value[i] == pytest.approx(gb_frequentist(*stats).p_value, rel=FOUR_DIGITS)
    assert np.isnan(result.p_value[-1]) and np.isnan(result.ci_lower[-1])


@pytest.mark.parametrize("method", ["holm", "bh"])
def test_adjustment_spans_every_row_and_arm_of_a_metric(method):
    p = {"b": np.array([0.001, 0.04, np.nan]), "c": np.array([0.02, 0.5, 0.03])}
    adjusted = adjust_rows(p, method)
    flat = adjust_p_values([0.001, 0.04, None, 0.02, 0.5, 0.03], method)
    assert np.isnan(adjusted["b"][2])
    assert [*adjusted["b"][:2], *adjusted["c"]] == pytest.approx([v for v in flat if v is not None])
