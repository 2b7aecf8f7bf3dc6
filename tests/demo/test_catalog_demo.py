"""The catalog demo (`seed_demo --llm`): one experiment over the Apparel range, copy approved only
where it passes every check, the control copy elsewhere, two weeks of simulated traffic spread over
the products, labelled "simulated traffic". The generator is replaced by a fake that writes known
copy (the real one is run by test_seed_llm.py, marked llm and slow)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.test import Client

from demo import seed
from experiments.copies import copy_flags
from experiments.models import Experiment, VariantCopy, variant_key_for
from generator import jobs as generator_jobs
from generator.models import GenerationJob
from ingest.models import Event
from ingest.rows import ROW_COLUMNS

pytestmark = pytest.mark.django_db

INVENTED = "Made from 100% recycled ocean plastic, certified by OEKO-TEX and NASA. Shop now."
# The fake generator writes copy that fails the checks for these products (at every λ) and, for
# FLAGLESS, a row whose stored flags are empty although its copy invents a claim: the demo checks
# the copy again before it approves.
FAILING = {"APP-003", "APP-007"}
FLAGLESS = "APP-011"
# Two per brand (Northloom, Stitchfolk, Tidewell, Vellora); APP-001 is demo-tee's.
CATALOG_SKUS = ("APP-002", "APP-003", "APP-006", "APP-007", "APP-011", "APP-012", "APP-016", "APP-017")


def fake_generation(*, experiment, lambdas=None, **kwargs):
    """Copy for every (product, λ): the product's own description (grounded) unless it should fail."""
    from experiments.copies import variant_copy_generated
    from experiments.variants import variant_for_lambda

    lambdas = lambdas or [0.2, 0.4]
    for position, lam in enumerate(lambdas, start=1):
        variant, _ = variant_for_lambda(
            experiment=experiment, key=variant_key_for(lam), lambda_value=lam, position=position
        )
        for product in experiment.products.select_related("category"):
            if product.sku in FAILING:
                variant_copy_generated(variant=variant, product=product, copy=INVENTED, candidates=[])
            elif product.sku == FLAGLESS:
                variant_copy_generated(variant=variant, product=product, copy=INVENTED, candidates=[], flags=[])
            else:
                variant_copy_generated(variant=variant, product=product, copy=product.description, candidates=[])
    return GenerationJob(experiment=experiment, lambdas=list(lambdas), status=GenerationJob.Status.SUCCEEDED)


def test_seed_demo_llm_creates_the_catalog_experiment(settings, tmp_path, monkeypatch):
    """One seeding (it is the slow part) checked from every side, then a rerun."""
    settings.VAR_DIR = tmp_path
    settings.DEBUG = True  # the demo pages read the key from var/ in development only
    monkeypatch.setattr(generator_jobs, "generation_run_sync", fake_generation)
    monkeypatch.setattr(seed, "DEMO_VISITORS", 192)  # small: the traffic path, not its volume, is tested
    out = StringIO()
    call_command("seed_demo", "--llm", stdout=out)
    _only_passing_copy_is_approved(out.getvalue())
    _traffic_spreads_over_the_products_two_weeks_back()
    _one_product_demos_are_untouched()
    _listing_shows_the_catalog_demo_and_the_store_links_to_it()
    _rerun_changes_nothing()


def _only_passing_copy_is_approved(output: str) -> None:
    experiment = Experiment.objects.get(key=seed.DEMO_CATALOG_EXPERIMENT)
    skus = set(experiment.products.values_list("sku", flat=True))
    # Two Apparel products per brand, not the one-product demo's tee (one active experiment per product).
    assert skus == set(CATALOG_SKUS)
    assert experiment.control_fallback and experiment.status == Experiment.Status.RUNNING
    assert experiment.simulated_traffic
    arms = {v.key: v.lambda_value for v in experiment.variants.all()}
    assert arms == {"control": None, "llm-l045": 0.45, "llm-l065": 0.65}  # Apparel's paper λ 0.55 ± 0.1
    llm_rows = VariantCopy.objects.filter(variant__experiment=experiment, variant__is_control=False)
    approved = llm_rows.filter(status=VariantCopy.Status.APPROVED).select_related("product__category")
    assert approved.count() == 2 * (8 - 3)
    for row in approved:  # every approved copy passes the brand rules and the guards, checked afresh
        assert copy_flags(row.copy, row.product) == [] and row.copy == row.product.description
    left = set(llm_rows.exclude(status=VariantCopy.Status.APPROVED).values_list("product__sku", flat=True))
    assert left == FAILING | {FLAGLESS}
    assert all(r.flags for r in llm_rows.filter(product__sku=FLAGLESS))  # stale empty flags were recomputed
    assert f"{seed.DEMO_CATALOG_EXPERIMENT}: LLM copy generated, approved where it passed every check" in output
    assert "3 product(s) show the control copy" in output


def _traffic_spreads_over_the_products_two_weeks_back() -> None:
    from datetime import timedelta

    from django.utils import timezone

    experiment = Experiment.objects.get(key=seed.DEMO_CATALOG_EXPERIMENT)
    assert timezone.now() - experiment.started_at >= timedelta(days=seed.DEMO_DAYS) - timedelta(minutes=1)
    events = Event.objects.filter(experiment=experiment)
    units = set(events.values_list("unit", flat=True))
    # DEMO_VISITORS split over 8 products: 24 shoppers of the demo's shared pool, each browsing the products
    # of the set at its own times (one arm on every product page).
    assert units == {f"{seed.DEMO_VISITOR_PREFIX}{i}" for i in range(24)}
    products_per_unit = events.values("unit").annotate(n=Count("product", distinct=True))
    assert all(row["n"] > 1 for row in products_per_unit)
    if "product_id" in ROW_COLUMNS:  # once ingestion stores the product, every event names one
        assert not events.filter(product__isnull=True).exists()


def _one_product_demos_are_untouched() -> None:
    for key, sku, _ in seed.DEMO_EXPERIMENTS:
        experiment = Experiment.objects.get(key=key)
        assert list(experiment.products.values_list("sku", flat=True)) == [sku]
        assert not experiment.control_fallback and experiment.status == Experiment.Status.RUNNING
        assert experiment.simulated_traffic  # their traffic is the simulator's too
        units = set(Event.objects.filter(experiment=experiment).values_list("unit", flat=True))
        assert units == {f"{seed.DEMO_VISITOR_PREFIX}{i}" for i in range(192)}  # the same pool of shoppers


def _listing_shows_the_catalog_demo_and_the_store_links_to_it() -> None:
    body = Client().get("/demo/store/listing").content.decode()
    assert f'data-experiment="{seed.DEMO_CATALOG_EXPERIMENT}"' in body
    assert body.count("data-copylift-slot") == 8
    store_page = Client().get("/demo/store/").content.decode()
    assert f"/demo/store/listing?experiment={seed.DEMO_CATALOG_EXPERIMENT}" in store_page
    assert 'data-experiment="demo-headphones"' in store_page  # the product page still opens a one-product demo


def _rerun_changes_nothing() -> None:
    experiment = Experiment.objects.get(key=seed.DEMO_CATALOG_EXPERIMENT)
    events = Event.objects.filter(experiment=experiment).count()
    copies = list(VariantCopy.objects.filter(variant__experiment=experiment).values_list("pk", "status"))
    out = StringIO()
    call_command("seed_demo", "--llm", stdout=out)
    assert "Demo experiments already present" in out.getvalue() and seed.DEMO_CATALOG_EXPERIMENT in out.getvalue()
    assert Experiment.objects.filter(key__startswith="demo-").count() == 4
    assert Event.objects.filter(experiment=experiment).count() == events
    assert list(VariantCopy.objects.filter(variant__experiment=experiment).values_list("pk", "status")) == copies


def test_seed_without_llm_creates_the_catalog_draft(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", stdout=StringIO())
    experiment = Experiment.objects.get(key=seed.DEMO_CATALOG_EXPERIMENT)
    assert experiment.status == Experiment.Status.DRAFT
    assert experiment.product_set == {"skus": list(CATALOG_SKUS)}
    assert list(experiment.variants.values_list("key", flat=True)) == ["control"]
