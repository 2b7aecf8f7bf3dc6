"""The predictor refit's holdout check: AUC on aggregated rows, and a worse refit is not activated."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from generator import predictor_versions, selectors
from generator.models import ConversionPredictor
from generator.predictor import OutcomeRow, binomial_auc, evaluate, prior_model


def test_binomial_auc_counts_pairs_of_impressions():
    assert binomial_auc([0.1, 0.9], [10, 10], [0, 10]) == 1.0
    assert binomial_auc([0.9, 0.1], [10, 10], [0, 10]) == 0.0
    assert binomial_auc([0.5, 0.5], [10, 10], [2, 8]) == 0.5  # ties count one half
    # 1 positive at 0.2 and 1 at 0.8; negatives: 3 at 0.2, 1 at 0.8 → (0.5·3 + 3 + 0.5·1) / 8
    assert binomial_auc([0.2, 0.8], [4, 2], [1, 1]) == pytest.approx(5 / 8)
    assert binomial_auc([0.3], [5], [0]) is None


def _row(cta: float, impressions: int, orders: int) -> OutcomeRow:
    features = {name: 0.5 for name in prior_model().feature_names} | {"cta_present": cta, "cta_density": 0.1 * cta}
    return OutcomeRow(features=features, impressions=impressions, orders=orders, clicks=orders * 2)


@pytest.mark.django_db
def test_refit_is_held_back_when_it_predicts_the_recent_holdout_worse():
    # The old data says a CTA hurts; recent data says it helps (as the prior believes): a fit on
    # the old data ranks the holdout backwards and is stored inactive, with the reason.
    # Ten pieces of copy each way: with copy effects in the likelihood, two would teach little.
    old = [_row(1.0, 20000, 400), _row(0.0, 20000, 1200)] * 10
    recent = [_row(1.0, 5000, 300), _row(0.0, 5000, 100)]

    def rows(*, category=None, exposed_before=None, exposed_since=None):
        return old if exposed_before else recent if exposed_since else old + recent

    source = predictor_versions.OutcomeSource(
        rows=rows,
        exposure_span=lambda category=None: (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 15, tzinfo=UTC)),
    )
    created = predictor_versions.predictor_refit(targets=["cvr"], min_impressions=100, source=source)
    (predictor,) = created
    holdout = predictor.metrics["holdout"]
    assert holdout["current_version"] == "prior-v1" and holdout["holdout_rows"] == 2
    assert holdout["auc"] < holdout["current_auc"] and not holdout["passed"]
    assert not predictor.active and not predictor.metrics["activated"]
    assert selectors.predictor_for(target="cvr").version == "prior-v1"

    # Consistent data: the refit is at least as good on the holdout and becomes active.
    old[:] = [_row(1.0, 20000, 1200), _row(0.0, 20000, 400)] * 10
    (second,) = predictor_versions.predictor_refit(targets=["cvr"], min_impressions=100, source=source)
    assert second.metrics["holdout"]["passed"] and second.active
    assert ConversionPredictor.objects.filter(active=True).get() == second
    scores = evaluate(second.as_model(), recent)
    assert scores["auc"] == pytest.approx(second.metrics["holdout"]["auc"], abs=0.2) and scores["log_loss"] > 0
