"""The simulator's hidden text model: seeded, its own features, weekday effects."""

from __future__ import annotations

from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from ingest.models import UnitTotals
from simulator.textmodel import DEFAULT_TRUTHS, TextModel, text_features


def test_features_come_from_the_text():
    truth = DEFAULT_TRUTHS["Electronics"]
    plain = text_features("Earbuds.", "Electronics", truth)
    rich = text_features(
        "Thirty hours? No: 30 h of battery and 10 min fast charge, 5.3 Bluetooth. Shop now and love it.",
        "Electronics",
        truth,
    )
    assert plain["cta"] == 0 and rich["cta"] == 1
    assert rich["specificity"] == 1.0 and plain["specificity"] == 0.0
    assert rich["sentiment"] > 0 and rich["keywords"] == 1.0
    assert text_features("AMAZING DEAL!!!", "Electronics", truth)["hype"] == 1.0


def test_truth_is_seeded_and_moves_with_the_copy_and_the_weekday():
    model = TextModel(seed=1)
    good = "Wireless earbuds with 30 hours of battery and fast charging in a pocket case. Shop now."
    bad = "EARBUDS!!! BEST EVER!!!"
    assert model.truth(good, "Electronics") == TextModel(seed=1).truth(good, "Electronics")
    assert model.truth(good, "Electronics") != TextModel(seed=2).truth(good, "Electronics")
    assert model.mean_cvr(good, "Electronics") > 1.5 * model.mean_cvr(bad, "Electronics")
    monday, saturday = datetime(2026, 1, 5), datetime(2026, 1, 10)
    assert model.truth(good, "FMCG", saturday).cvr > model.truth(good, "FMCG", monday).cvr
    assert TextModel(weekday_effects=False).truth(good, "FMCG", saturday) == TextModel(weekday_effects=False).truth(
        good, "FMCG", monday
    )
    truth = model.truth(good, "Apparel")
    assert 0 < truth.cvr <= truth.ctr < 0.5


@pytest.mark.django_db(transaction=True)
def test_simulate_traffic_with_the_text_model_posts_over_http(make_experiment, write_key, live_server):
    experiment = make_experiment(started_ago=timedelta(days=7))
    out = StringIO()
    call_command(
        "simulate_traffic",
        *("--experiment", experiment.key, "--units", "600", "--days", "7", "--model", "text", "--text-seed", "3"),
        *("--url", live_server.url, "--write-key", write_key[1]),
        stdout=out,
    )
    text = out.getvalue()
    assert "text model" in text and " 0 rejected" in text, text
    assert UnitTotals.objects.filter(experiment=experiment).count() > 500
