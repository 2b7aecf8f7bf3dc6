"""Reads of the generator: default λ, logged outcomes, the predictor in use, few-shot examples."""

from generator import selectors
from generator.models import ConversionPredictor
from tests.conftest import arm_copy


def test_default_lambdas_are_recommended_and_plus_minus_two_tenths_clipped(db):
    from catalog.models import Category

    assert selectors.default_lambdas(category=Category.objects.get(name="Electronics")) == [0.2, 0.4, 0.6]
    fmcg = Category(name="x", recommended_lambda=0.85)
    assert selectors.default_lambdas(category=fmcg) == [0.65, 0.85, 0.95]
    assert selectors.default_lambdas(category=Category(name="y", recommended_lambda=0.1)) == [0.05, 0.1, 0.3]


def test_variant_outcomes_read_unit_totals(draft_experiment):
    from django.utils import timezone

    from ingest.models import BreakdownUnitTotals, Dimension, UnitTotals

    now = timezone.now()
    control = draft_experiment.variants.get(key="control")
    for unit, (imp, clk, orders) in enumerate([(10, 2, 1), (5, 1, 0)]):
        counts = {"impressions": imp, "clicks": clk, "orders": orders}
        common = {"experiment": draft_experiment, "variant": control, "unit": f"u{unit}"}
        UnitTotals.objects.create(**common, **counts, first_seen=now, last_seen=now, first_exposure=now)
        BreakdownUnitTotals.objects.create(
            **common, **counts, dimension=Dimension.PRODUCT, key=draft_experiment.product.pk
        )
    outcomes = selectors.variant_outcomes()
    assert [(o.variant_id, o.impressions, o.clicks, o.orders) for o in outcomes] == [(control.pk, 15, 3, 1)]
    assert outcomes[0].category == "Electronics" and outcomes[0].copy == arm_copy(control).copy
    assert selectors.variant_outcomes(category=draft_experiment.product.category)
    from catalog.models import Category

    assert selectors.variant_outcomes(category=Category.objects.get(name="FMCG")) == []


def test_variant_outcomes_without_ingestion_tables(monkeypatch, db):
    monkeypatch.setattr(selectors, "_unit_totals_model", lambda: None)
    assert selectors.variant_outcomes() == []


def test_predictor_for_prefers_category_then_global_then_prior(db):
    from catalog.models import Category

    electronics = Category.objects.get(name="Electronics")
    assert selectors.predictor_for(category=electronics).version == "prior-v1"
    ConversionPredictor.objects.create(version=1, target="cvr", coefficients={"intercept": -3}, feature_names=[])
    assert selectors.predictor_for(category=electronics).version == "cvr-v1"
    ConversionPredictor.objects.create(version=2, target="cvr", category=electronics, coefficients={"intercept": -2})
    assert selectors.predictor_for(category=electronics).version == "cvr-v2"


def test_few_shot_examples_prefer_approved_copy_of_the_category(draft_experiment, product):
    from catalog.models import Category, Product
    from experiments.models import VariantCopy

    other = Product.objects.create(
        sku="ELEC-T02", title="Other earbuds", brand="Voltora", category=product.category, price="10.00"
    )
    examples = selectors.few_shot_examples(category=product.category, exclude_product=other, limit=2)
    approved_copies = set(
        VariantCopy.objects.filter(variant__experiment=draft_experiment, variant__is_control=False).values_list(
            "copy", flat=True
        )
    )
    assert {e.text for e in examples} <= approved_copies and len(examples) == 2
    # The product's own copy is never its own example; without any, built-in examples serve.
    fallback = selectors.few_shot_examples(category=Category.objects.get(name="FMCG"))
    assert fallback and all(e.category == "FMCG" for e in fallback)
