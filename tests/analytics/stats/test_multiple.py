"""Multiple comparisons across the arms of one metric: Holm and Benjamini-Hochberg vs statsmodels."""

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from analytics.stats import adjust_p_values


@pytest.mark.parametrize(("method", "reference"), [("holm", "holm"), ("bh", "fdr_bh")])
def test_matches_statsmodels(method, reference):
    rng = np.random.default_rng(1)
    for size in (1, 2, 3, 5, 8):
        for _ in range(8):
            p = rng.uniform(0, 0.2, size) ** rng.uniform(0.5, 3)
            ours = adjust_p_values(list(p), method)
            assert ours == pytest.approx(multipletests(p, method=reference)[1], rel=1e-12, abs=1e-15)


def test_pinned_numbers():
    p = [0.01, 0.04, 0.03, 0.2, 0.001]
    # statsmodels multipletests(method="holm") and (method="fdr_bh")
    assert adjust_p_values(p) == pytest.approx([0.04, 0.09, 0.09, 0.2, 0.005])
    assert adjust_p_values(p, "bh") == pytest.approx([0.025, 0.05, 0.05, 0.2, 0.005])
    assert adjust_p_values(p, "none") == p


def test_holm_is_never_less_conservative_than_bh():
    rng = np.random.default_rng(2)
    for _ in range(200):
        p = list(rng.uniform(0, 0.1, 4))
        holm, bh = adjust_p_values(p, "holm"), adjust_p_values(p, "bh")
        assert all(h >= b - 1e-15 and b >= raw - 1e-15 for h, b, raw in zip(holm, bh, p, strict=True))


def test_missing_p_values_stay_missing_and_do_not_count():
    adjusted = adjust_p_values([None, 0.01, float("nan"), 0.04])
    assert adjusted[0] is None and adjusted[2] is None
    assert adjusted[1:4:2] == pytest.approx(adjust_p_values([0.01, 0.04]))
    assert adjust_p_values([]) == []


def test_unknown_method_is_a_programming_error():
    with pytest.raises(ValueError):
        adjust_p_values([0.1], "bonferroni-ish")
