"""Predictor versions: refits on logged outcomes (stubbed rows), activation, the refit task."""

import pytest

from generator import predictor_versions, selectors, tasks
from generator.models import ConversionPredictor


def NO_SPAN(category=None):
    return (None, None)


def test_predictor_refit_versions_and_activation(db):
    from generator.predictor import OutcomeRow

    rows = [
        OutcomeRow(
            features={
                "keyword_strength": k,
                "cta_present": c,
                "cta_density": 0.05 * c,
                "sentiment": 0.3,
                "readability": 0.6,
                "relevance": 0.5,
                "length_fit": 1.0,
                "specificity": 0.0,
                "hype": 0.0,
            },
            impressions=5000,
            orders=int(5000 * (0.02 + 0.03 * k + 0.01 * c)),
            clicks=int(5000 * 0.1),
        )
        for k in (0.0, 0.5, 1.0)
        for c in (0, 1)
    ]
    source = predictor_versions.OutcomeSource(rows=lambda category=None: rows, exposure_span=NO_SPAN)
    first = predictor_versions.predictor_refit(source=source)
    second = predictor_versions.predictor_refit(source=source)
    assert {p.target for p in first} == {"cvr", "ctr"}
    assert [p.version for p in second if p.target == "cvr"] == [2]
    assert ConversionPredictor.objects.filter(active=True).count() == 2
    model = selectors.predictor_for(category=None, target="cvr")
    assert model.version == "cvr-v2" and model.coefficients["keyword_strength"] > 0


def test_refit_all_fits_each_category_with_data_then_all_categories(db, monkeypatch):
    from catalog.models import Category
    from generator.predictor import OutcomeRow, prior_model

    electronics = Category.objects.get(name="Electronics")

    def rows(category=None, **_):
        if category is not None and category != electronics:
            return []  # only Electronics has logged copy
        return [
            OutcomeRow(
                features={name: 0.5 for name in prior_model().feature_names} | {"specificity": spec},
                impressions=20000,
                orders=int(20000 * (0.02 + 0.03 * spec)),
                clicks=2000,
            )
            for spec in (0.0, 0.33, 0.67, 1.0)
        ]

    # The nightly task reads the default source: the one seam a test swaps for the task path.
    source = predictor_versions.OutcomeSource(rows=rows, exposure_span=NO_SPAN)
    monkeypatch.setattr(predictor_versions, "LOGGED_OUTCOMES", source)
    created = predictor_versions.predictor_refit_all(min_impressions=1000, source=source)
    scopes = sorted((p.target, p.category.name if p.category else "all") for p in created)
    assert scopes == [("ctr", "Electronics"), ("ctr", "all"), ("cvr", "Electronics"), ("cvr", "all")]
    assert all(p.active for p in created)
    assert selectors.predictor_for(category=electronics).version == "cvr-v1"  # the category's own
    assert selectors.predictor_for(category=Category.objects.get(name="FMCG")).version == "cvr-v2"
    own = next(p for p in created if p.target == "cvr" and p.category == electronics)
    assert own.coefficients["specificity"] > 0.1  # figures convert here; the prior knew nothing of it
    assert tasks.predictor_refit_task.apply().get() == ["cvr-v3", "ctr-v3", "cvr-v4", "ctr-v4"]


def test_refit_all_skips_a_degenerate_category_and_rolls_back_on_a_database_error(db, monkeypatch):
    import numpy as np
    from django.db import OperationalError

    from generator.predictor import OutcomeRow, prior_model

    real = predictor_versions.predictor_refit

    def flaky(*, category=None, fail=False, **options):
        if category is not None and category.name == "Apparel":
            raise np.linalg.LinAlgError("singular matrix")
        if category is not None and category.name == "FMCG" and fail:
            raise OperationalError("connection lost")
        return real(category=category, **options)

    features = {name: 0.5 for name in prior_model().feature_names}
    rows = [
        OutcomeRow(features=features | {"cta_present": c}, impressions=5000, orders=100 + 50 * c, clicks=500)
        for c in (0, 1)
    ]
    source = predictor_versions.OutcomeSource(rows=lambda category=None, **_: rows, exposure_span=NO_SPAN)
    monkeypatch.setattr(predictor_versions, "predictor_refit", flaky)
    created = predictor_versions.predictor_refit_all(min_impressions=100, source=source)
    scopes = {p.category.name if p.category else "all" for p in created}
    assert "Apparel" not in scopes and {"Electronics", "FMCG", "all"} <= scopes  # the others went on

    # A database error mid-run (the task retries it) leaves nothing of that run behind.
    before = ConversionPredictor.objects.count()
    monkeypatch.setattr(predictor_versions, "predictor_refit", lambda **kw: flaky(**kw, fail=True))
    with pytest.raises(OperationalError):
        predictor_versions.predictor_refit_all(min_impressions=100, source=source)
    assert ConversionPredictor.objects.count() == before


def test_predictor_refit_refuses_without_data(db):
    with pytest.raises(predictor_versions.InsufficientData):
        predictor_versions.predictor_refit()
    assert tasks.predictor_refit_task.apply().get() == []


def test_activating_a_version_deactivates_the_others_of_its_target_and_scope(db):
    from catalog.models import Category

    electronics = Category.objects.get(name="Electronics")

    def version(n, *, target="cvr", category=None):
        return ConversionPredictor.objects.create(
            version=n, target=target, category=category, coefficients={"intercept": -3}, active=True
        )

    old, new, other_target, other_scope = (
        version(1),
        version(2),
        version(1, target="ctr"),
        version(3, category=electronics),
    )
    predictor_versions.predictor_activate(predictor=old)
    active = set(ConversionPredictor.objects.filter(active=True).values_list("pk", flat=True))
    assert active == {old.pk, other_target.pk, other_scope.pk} and new.pk not in active
