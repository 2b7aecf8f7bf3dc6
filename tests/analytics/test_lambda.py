"""λ per category: pooling arms across experiments, the elbow, and the page's data."""

from __future__ import annotations

import pytest

from analytics.lambdas import ArmPoint, elbow, lambda_curve, lambda_report_build
from tests.analytics.factories import candidates_for, sweep_experiment


def point(lam: float, lift: float, se: float = 0.01, experiment: str = "e1", diversity: float | None = None):
    return ArmPoint(
        experiment=experiment,
        variant=f"v{lam}",
        lambda_value=lam,
        units=1000,
        diversity=diversity,
        cvr=0.04,
        ctr=0.1,
        cvr_lift=lift,
        cvr_lift_se=se,
        ctr_lift=lift / 2,
        ctr_lift_se=se,
    )


def test_arms_at_the_same_lambda_are_pooled_by_inverse_variance():
    curve = lambda_curve([point(0.4, 0.10, se=0.01), point(0.4, 0.00, se=0.02, experiment="e2"), point(0.6, -0.1)])
    assert [c.lambda_value for c in curve] == [0.4, 0.6]
    assert curve[0].arms == 2 and curve[0].units == 2000
    assert curve[0].cvr_lift == pytest.approx((0.10 / 0.01**2) / (1 / 0.01**2 + 1 / 0.02**2))
    low, high = curve[0].cvr_ci
    assert high - low == pytest.approx(2 * 1.96 * (1 / (1 / 0.01**2 + 1 / 0.02**2)) ** 0.5, rel=1e-3)


def test_elbow_of_a_concave_trade_off():
    # Conversion holds up to about λ = 0.5, then falls away: the elbow sits in between.
    lambdas = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    points = [point(lam, 0.05 - 0.4 * lam**2) for lam in lambdas]
    result = elbow(lambda_curve(points))
    assert result.method == "kneed"
    assert 0.35 <= result.lambda_value <= 0.65


def test_no_elbow_without_three_lambdas_or_without_a_trade_off():
    assert elbow(lambda_curve([point(0.2, 0.1), point(0.6, 0.0)])).lambda_value is None
    rising = elbow(lambda_curve([point(lam, 0.1 * lam) for lam in (0.2, 0.4, 0.6, 0.8)]))
    assert rising.method == "best_fit" and rising.lambda_value == pytest.approx(0.8)


@pytest.mark.django_db
def test_lambda_report_across_experiments(make_experiment, product):
    first = sweep_experiment(make_experiment, key="apparel-1", category="Apparel", sku="APP-T1", units=2500, seed=1)
    sweep_experiment(make_experiment, key="apparel-2", category="Apparel", sku="APP-T2", units=2500, seed=2)
    candidates_for(first)
    make_experiment("elec-draft")  # drafts do not count
    entries = {entry.category: entry for entry in lambda_report_build()}
    assert set(entries) == {"Apparel", "Electronics", "FMCG"}
    apparel = entries["Apparel"]
    assert apparel.experiments == 2 and len(apparel.arms) == 8
    assert [c.lambda_value for c in apparel.curve] == [0.2, 0.4, 0.6, 0.8]
    assert all(c.arms == 2 for c in apparel.curve)
    assert apparel.curve[0].diversity == pytest.approx(0.35 + 0.4 * 0.2)  # only the first has candidates
    assert apparel.recommended_lambda is not None and apparel.method in ("kneed", "best_fit")
    assert apparel.paper_range == (0.5, 0.6)
    assert entries["Electronics"].curve == [] and entries["Electronics"].recommended_lambda is None
