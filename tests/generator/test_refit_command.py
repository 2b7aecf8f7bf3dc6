"""manage.py refit_predictor: clear errors for bad input, versions printed when it fits."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from generator import predictor_versions
from generator.predictor import OutcomeRow, prior_model


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--prior-strength", "-1"], "--prior-strength must be a positive number"),
        (["--prior-strength", "0"], "--prior-strength must be a positive number"),
        (["--category", "Toys"], "unknown category 'Toys'"),
        ([], "not enough logged outcomes"),
    ],
)
def test_bad_input_or_no_data_is_a_clear_error(db, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("refit_predictor", *args, stdout=StringIO())


def test_fits_each_category_with_data_then_all_and_prints_them(db, monkeypatch):
    def rows(category=None, **_):
        if category is not None and category.name != "Electronics":
            return []
        features = {name: 0.5 for name in prior_model().feature_names}
        return [
            OutcomeRow(features=features | {"specificity": spec}, impressions=20_000, orders=int(400 + 600 * spec))
            for spec in (0.0, 0.5, 1.0)
        ]

    # The command reads the default source: the one seam a test swaps for the command path.
    source = predictor_versions.OutcomeSource(rows=rows, exposure_span=lambda category=None: (None, None))
    monkeypatch.setattr(predictor_versions, "LOGGED_OUTCOMES", source)
    out = StringIO()
    call_command("refit_predictor", "--prior-strength", "10", stdout=out)
    text = out.getvalue()
    assert "cvr v1 (Electronics): 3 copies, 60000 impressions" in text
    assert "cvr v2 (all categories)" in text and "specificity" in text
