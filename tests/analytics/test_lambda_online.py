"""λ per category: the online elbow (finished experiments) beside the offline evaluation and the paper."""

from __future__ import annotations

import json

import pytest

from analytics.lambdas import lambda_report_build
from experiments.services import experiment_stop
from tests.analytics.factories import sweep_experiment


@pytest.mark.django_db
def test_online_elbow_uses_finished_experiments_and_offline_comes_from_the_evaluation(
    make_experiment, settings, tmp_path
):
    settings.VAR_DIR = tmp_path
    (tmp_path / "evaluation").mkdir()
    (tmp_path / "evaluation" / "evaluation.json").write_text(
        json.dumps({"categories": {"Apparel": {"elbow": {"lambda": 0.55, "note": "offline"}}}})
    )
    running = sweep_experiment(make_experiment, key="app-run", category="Apparel", sku="APP-O1", units=2500, seed=1)
    entries = {e.category: e for e in lambda_report_build()}
    apparel = entries["Apparel"]
    assert apparel.online.experiments == 0 and apparel.online.lambda_value is None
    assert apparel.offline.lambda_value == 0.55 and entries["FMCG"].offline.lambda_value is None
    assert apparel.paper_range == (0.5, 0.6)

    experiment_stop(experiment=running)
    apparel = {e.category: e for e in lambda_report_build()}["Apparel"]
    assert apparel.online.experiments == 1 and apparel.online.lambda_value is not None
    assert apparel.online.lambda_value == apparel.recommended_lambda  # the same single experiment
