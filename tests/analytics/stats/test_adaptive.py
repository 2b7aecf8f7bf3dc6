"""The adaptive analysis is valid by simulation: A/A false positives on the holdout slice stay at alpha."""

from __future__ import annotations

from analytics.stats.adaptive import aa_false_positive_rate, regret


def test_holdout_slice_keeps_the_false_positive_rate_where_all_traffic_does_not():
    result = aa_false_positive_rate(runs=80, draws=100, seed=11)
    assert result.fpr_holdout <= 0.05 + 3 * result.se
    assert result.fpr_all_traffic > result.fpr_holdout


def test_adaptive_allocation_loses_fewer_conversions_than_a_fixed_split():
    result = regret(rates=(0.04, 0.044, 0.05, 0.036), runs=10, draws=100)
    assert result.regret_adaptive < 0.85 * result.regret_fixed
    assert result.final_shares[2] == max(result.final_shares)
