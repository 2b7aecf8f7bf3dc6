"""Bayesian summary: agreement with gbstats' EffectBayesianABTest and with direct integration."""

import json

import numpy as np
import pytest
from gbstats.bayesian.tests import GaussianPrior
from scipy import integrate
from scipy.stats import norm

from analytics.stats import SampleMeanStatistic, StatsConfig, bayesian_test
from analytics.stats.bayesian import expected_losses
from tests.analytics.stats.datasets import MEAN_DATASETS, RATIO_DATASETS
from tests.analytics.stats.gbstats_bridge import FOUR_DIGITS, gb_bayesian


@pytest.mark.parametrize("difference_type", ["relative", "absolute"])
@pytest.mark.parametrize(("control", "treatment"), RATIO_DATASETS + MEAN_DATASETS)
def test_agrees_with_gbstats_flat_prior(control, treatment, difference_type):
    ours = bayesian_test(control, treatment, StatsConfig(difference_type=difference_type))
    theirs = gb_bayesian(control, treatment, difference_type=difference_type)
    assert ours.error is None
    assert ours.chance_to_beat_control == pytest.approx(theirs.chance_to_win, rel=FOUR_DIGITS)
    # gbstats' risk = [loss if control is kept, loss if treatment is shipped]
    assert ours.expected_loss_control == pytest.approx(theirs.risk[0], rel=FOUR_DIGITS, abs=1e-12)
    assert ours.expected_loss_treatment == pytest.approx(theirs.risk[1], rel=FOUR_DIGITS, abs=1e-12)
    assert (ours.ci_lower, ours.ci_upper) == pytest.approx(tuple(theirs.ci), rel=FOUR_DIGITS)


@pytest.mark.parametrize(("control", "treatment"), RATIO_DATASETS[:2])
def test_agrees_with_gbstats_proper_prior(control, treatment):
    config = StatsConfig(prior_proper=True, prior_mean=0.01, prior_variance=0.05**2)
    ours = bayesian_test(control, treatment, config)
    theirs = gb_bayesian(control, treatment, prior=GaussianPrior(mean=0.01, variance=0.05**2, proper=True))
    assert ours.posterior_mean == pytest.approx(theirs.expected, rel=FOUR_DIGITS)
    assert ours.posterior_sd == pytest.approx(theirs.uplift.stddev, rel=FOUR_DIGITS)
    assert ours.chance_to_beat_control == pytest.approx(theirs.chance_to_win, rel=FOUR_DIGITS)
    # A tight prior pulls the posterior towards its mean.
    flat = bayesian_test(control, treatment)
    assert abs(ours.posterior_mean - 0.01) < abs(flat.posterior_mean - 0.01)


def test_pinned_gbstats_numbers():
    control, treatment = RATIO_DATASETS[0]
    result = bayesian_test(control, treatment)
    # gbstats 0.8.0 EffectBayesianABTest, flat prior
    assert result.chance_to_beat_control == pytest.approx(0.7640495282411945, rel=1e-8)
    assert result.expected_loss_control == pytest.approx(0.0872275864729913, rel=1e-7)
    assert result.expected_loss_treatment == pytest.approx(0.014060614703071265, rel=1e-7)


@pytest.mark.parametrize(("mean", "sd"), [(0.02, 0.05), (-0.1, 0.03), (0.0, 1.0), (3.0, 0.1)])
def test_expected_loss_closed_form_matches_integration(mean, sd):
    loss_treatment, loss_control = expected_losses(mean, sd)
    lo, hi = mean - 12 * sd, mean + 12 * sd
    numeric_treatment = integrate.quad(lambda x: max(-x, 0.0) * norm.pdf(x, mean, sd), lo, hi, points=[0.0])[0]
    numeric_control = integrate.quad(lambda x: max(x, 0.0) * norm.pdf(x, mean, sd), lo, hi, points=[0.0])[0]
    assert float(loss_treatment) == pytest.approx(numeric_treatment, rel=1e-6, abs=1e-12)
    assert float(loss_control) == pytest.approx(numeric_control, rel=1e-6, abs=1e-12)
    # E[max(x,0)] - E[max(-x,0)] = E[x]
    assert float(loss_control - loss_treatment) == pytest.approx(mean, abs=1e-12)


def test_swapping_arms_mirrors_the_absolute_result():
    control, treatment = MEAN_DATASETS[1]
    config = StatsConfig(difference_type="absolute")
    forward, backward = bayesian_test(control, treatment, config), bayesian_test(treatment, control, config)
    assert forward.chance_to_beat_control == pytest.approx(1 - backward.chance_to_beat_control, rel=1e-12)
    assert forward.expected_loss_treatment == pytest.approx(backward.expected_loss_control, rel=1e-12)


def test_far_tail_stays_finite_and_non_negative():
    control = SampleMeanStatistic(n=100_000, sum=10_000, sum_squares=10_000)
    treatment = SampleMeanStatistic(n=100_000, sum=20_000, sum_squares=20_000)
    result = bayesian_test(control, treatment)
    assert result.chance_to_beat_control == 1.0
    assert result.expected_loss_treatment == 0.0
    assert np.isfinite(result.expected_loss_control)
    json.dumps(result.to_dict(), allow_nan=False)


def test_degenerate_input():
    empty = SampleMeanStatistic(n=0, sum=0, sum_squares=0)
    result = bayesian_test(empty, MEAN_DATASETS[0][1])
    assert result.error == "no units in control" and result.chance_to_beat_control is None
    json.dumps(result.to_dict(), allow_nan=False)
