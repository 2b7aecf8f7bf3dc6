"""Report fixtures shared by the report tests."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from experiments.models import Experiment

# Its assert_agrees asserts for the tests that call it: pytest explains a failing one there too.
pytest.register_assert_rewrite("tests.analytics.stats.gbstats_bridge")


@pytest.fixture
def fresh_cache():
    """The cache empty before the test and after it: no report cached by another test is read."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def two_arm(make_experiment, product):
    rows = [
        {
            "key": "control",
            "is_control": True,
            "copy": "Wireless earbuds with long battery life.",
            "weight": 1,
            "approved": True,
        },
        {
            "key": "llm-l060",
            "lambda_value": 0.6,
            "copy": "All-day sound that keeps going. Shop now.",
            "weight": 1,
            "approved": True,
        },
    ]
    experiment = make_experiment("two-arm", start=True, variants=rows, primary_metric="cvr")
    Experiment.objects.filter(pk=experiment.pk).update(started_at=timezone.now() - timedelta(days=10))
    experiment.refresh_from_db()
    return experiment
