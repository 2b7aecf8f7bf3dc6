"""Sample ratio mismatch: chi-square against scipy and gbstats, and the edge cases."""

import json

import pytest
from gbstats.utils import check_srm
from scipy.stats import chisquare

from analytics.stats import srm_test


@pytest.mark.parametrize(
    ("units", "weights"),
    [
        ([5000, 5100, 4800], [1, 1, 1]),
        ([10_120, 9_880], [0.5, 0.5]),
        ([2_050, 6_000, 1_990], [0.2, 0.6, 0.2]),
        ([1000, 1000, 1000, 1180], [1, 1, 1, 1]),
    ],
)
def test_matches_scipy_chisquare_and_gbstats(units, weights):
    result = srm_test(units, weights)
    total = sum(units)
    expected = [w / sum(weights) * total for w in weights]
    reference = chisquare(units, expected)
    assert result.chi_square == pytest.approx(reference.statistic, rel=1e-12)
    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    assert result.p_value == pytest.approx(check_srm(units, weights), rel=1e-9)
    assert result.dof == len(units) - 1
    assert result.flagged == (reference.pvalue < 0.001)


def test_pinned_numbers_and_table():
    result = srm_test([5000, 5100, 4800], [1, 1, 1], names=["control", "λ=0.4", "λ=0.6"])
    # scipy.stats.chisquare([5000, 5100, 4800]): statistic 9.395973..., p 0.0091136...
    assert result.chi_square == pytest.approx(9.395973154362418, rel=1e-12)
    assert result.p_value == pytest.approx(0.00911360818807675, rel=1e-9)
    assert result.flagged is False and result.reason is None
    assert [row.name for row in result.rows] == ["control", "λ=0.4", "λ=0.6"]
    assert result.rows[2].expected_units == pytest.approx(14900 / 3)
    assert result.rows[2].weight == 1.0 and result.rows[2].expected_share == pytest.approx(1 / 3)
    assert result.rows[2].observed_share == pytest.approx(4800 / 14900)
    assert sum(row.chi_square_term for row in result.rows) == pytest.approx(result.chi_square)


def test_weights_keep_their_configured_scale_in_the_table():
    result = srm_test([3000, 1000], [75, 25])
    assert [row.weight for row in result.rows] == [75, 25]
    assert [row.expected_share for row in result.rows] == pytest.approx([0.75, 0.25])
    assert result.p_value == pytest.approx(1.0)


def test_flags_a_real_mismatch():
    result = srm_test([10_000, 9_500], [1, 1])
    assert result.p_value < 0.001 and result.flagged is True


def test_variant_with_zero_units_is_a_mismatch_not_an_error():
    result = srm_test([5000, 0, 4900], [1, 1, 1])
    assert result.flagged is True and result.p_value < 1e-300
    assert result.rows[1].units == 0 and result.rows[1].observed_share == 0.0
    assert result.rows[1].chi_square_term == pytest.approx(9900 / 3)
    json.dumps(result.to_dict(), allow_nan=False)


def test_switched_off_variant_is_left_out():
    with_off = srm_test([5000, 5100, 0], [1, 1, 0])
    without = srm_test([5000, 5100], [1, 1])
    assert with_off.p_value == pytest.approx(without.p_value)
    assert with_off.dof == 1
    assert with_off.rows[2].expected_share == 0.0 and with_off.rows[2].chi_square_term is None


def test_units_in_a_zero_weight_variant_are_flagged():
    result = srm_test([5000, 5100, 12], [1, 1, 0])
    assert result.flagged is True and result.p_value == 0.0
    assert "zero weight" in result.reason


@pytest.mark.parametrize(
    ("units", "weights", "reason"),
    [
        ([0, 0, 0], [1, 1, 1], "no units"),
        ([100], [1], "fewer than two variants"),
        ([100, 0], [1, 0], "fewer than two variants"),
        ([100, 50], [1, 1, 1], "same length"),
        ([100, -5], [1, 1], "non-negative whole"),
        ([100, 50.5], [1, 1], "non-negative whole"),
        ([100, 50], [1, float("nan")], "weights"),
    ],
)
def test_no_test_possible_gives_reason(units, weights, reason):
    result = srm_test(units, weights)
    assert reason in result.reason
    assert result.p_value is None and result.flagged is False
    json.dumps(result.to_dict(), allow_nan=False)
