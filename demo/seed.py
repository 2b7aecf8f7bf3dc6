"""The demo that `make run` seeds: the catalog, brand rules, one one-product experiment per
category, and one catalog experiment over the Apparel range.

With `llm=True` (what `make run` does) each demo experiment also gets LLM copy from the real
generator, is started two weeks back, and receives two weeks of simulated traffic, so the reports
and the λ trade-off view have something to show from the first minute. The one-product demos get
an arm at each of the category's three default λ; the catalog demo gets copy for every product at
two λ, approved only where it passes every check, with the control copy shown elsewhere.

Everything the simulator posts is labelled: the demo's write key is a simulated key and the demo
experiments are marked `simulated_traffic`, so every report of them says "simulated traffic".

Idempotent: running it again updates the catalog in place and leaves existing demo
experiments (and their traffic) alone.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from catalog.guards import fact_index, guards_check
from catalog.models import Product
from catalog.paper import paper_default_lambda
from catalog.services import DEMO_CATALOG, DEMO_GUIDELINES, guidelines_import, products_import_csv
from experiments import services, variants
from experiments.assignment import snapshot_build
from experiments.copies import copy_flags, variant_copies_approve_passing
from experiments.models import Experiment, ExperimentProduct, Variant, VariantCopy
from ingest.accept import event_validate
from ingest.models import Event, WriteKey
from ingest.rows import ROW_COLUMNS
from ingest.store import events_store
from ingest.writekeys import demo_write_key_path, write_key_authenticate, write_key_cache_clear, write_key_create
from simulator.traffic import ArmTruth, traffic_events

DEMO_WRITE_KEY_NAME = "demo storefront"

# One demo experiment per category: the product and the hypothesis it tests.
DEMO_EXPERIMENTS = (
    ("demo-headphones", "ELEC-001", "Spec-led LLM copy lifts CTR on the ANC headphones page"),
    ("demo-crisps", "FMCG-001", "Playful, urgent LLM copy lifts CTR on the lentil crisps page"),
    ("demo-tee", "APP-001", "Style-led LLM copy lifts CTR on the organic tee page"),
)


# The catalog demo: one experiment over a category's products (the paper's online test is one
# experiment per category), with arms at the category's recommended λ ± DEMO_CATALOG_SPREAD.
DEMO_CATALOG_EXPERIMENT = "demo-apparel"
DEMO_CATALOG_CATEGORY = "Apparel"
DEMO_CATALOG_SPREAD = 0.1
DEMO_CATALOG_HYPOTHESIS = (
    "Style-led LLM copy lifts CTR across the Apparel range; a bolder λ trades some of it for more varied copy"
)
# Small on purpose, as `make run` generates on a CPU (~30 s per product and λ on a busy 2-core
# machine): two products per brand (8 of the range's 20), one batch of candidates per product and
# λ, no second round where none passes (that product shows the control copy).
DEMO_CATALOG_PER_BRAND = 2
DEMO_CATALOG_CANDIDATES = 6
DEMO_CATALOG_ROUNDS = 1

DEMO_DAYS = 14
DEMO_VISITORS = 12_000
# The demo's experiments share one pool of shoppers, each as keen in every experiment (a log-normal
# propensity), who visit each at its own times: a shopper's visits to one experiment before its first
# exposure to another are that report's CUPED covariate.
DEMO_VISITOR_PREFIX = "shopper-"
DEMO_VISITOR_SPREAD = 0.8
# The demo's hidden truth: the control at the paper's template level, the LLM arms on the paper's
# reported sweep (λ 0.2 → 0.8: CTR 11.3 % → 9.1 %, CVR 4.7 % → 3.9 %), interpolated in λ. Made up for
# the demo only; the closed-loop simulator (`simulate_traffic --model text`) reads the copy instead.
DEMO_CONTROL_TRUTH = ArmTruth(ctr=0.085, cvr=0.035)


def demo_arm_truth(lam: float) -> ArmTruth:
    share = min(max((lam - 0.2) / 0.6, 0.0), 1.0)
    return ArmTruth(ctr=0.113 + share * (0.091 - 0.113), cvr=0.047 + share * (0.039 - 0.047))


@dataclass
class DemoReport:
    write_key_file: str = ""
    products_loaded: int = 0
    experiments_created: list[str] = field(default_factory=list)
    experiments_existing: list[str] = field(default_factory=list)
    experiments_with_traffic: dict[str, int] = field(default_factory=dict)
    experiments_without_copy: list[str] = field(default_factory=list)  # no candidate passed the copy guards
    # The catalog demo: approved copies per LLM arm, and the products showing the control copy.
    catalog_approved: dict[str, int] = field(default_factory=dict)
    catalog_fallback_products: list[str] = field(default_factory=list)


@transaction.atomic
def demo_catalog_seed() -> int:
    guidelines_import(path=DEMO_GUIDELINES)
    report = products_import_csv(path=DEMO_CATALOG)
    if report.errors:  # the shipped file is tested; this guards against a broken edit of it
        raise RuntimeError(f"demo catalog has bad rows: {report.errors}")
    return report.loaded


def demo_experiment_create(*, key: str, sku: str, hypothesis: str) -> Experiment:
    """A draft experiment whose control is the product's current description."""
    product = Product.objects.select_related("category").get(sku=sku)
    return services.experiment_create(
        key=key,
        name=f"Demo: {product.title}",
        product=product,
        hypothesis=hypothesis,
        primary_metric=Experiment.Metric.CTR,
        variants=[
            {
                "key": "control",
                "name": "Current description",
                "is_control": True,
                "copy": product.description,
                "weight": 1,
                "approved": True,
            }
        ],
    )


def demo_write_key() -> str:
    """The demo storefront's write key, kept in `var/demo_write_key` for the demo page and the
    simulator. A local development convenience: real storefronts get keys from the admin.

    A simulated key: the experiments it posts events for (from the demo store page too) are
    labelled "simulated traffic" in their reports. A key made before that flag existed gets it."""
    path = demo_write_key_path()
    if path.exists() and (key_id := write_key_authenticate(path.read_text().strip())) is not None:
        if WriteKey.objects.filter(pk=key_id, simulated=False).update(simulated=True):
            write_key_cache_clear()
        return path.read_text().strip()
    _, clear = write_key_create(name=DEMO_WRITE_KEY_NAME, simulated=True)
    path.write_text(clear + "\n")
    path.chmod(0o600)
    return clear


def demo_variants_generate(*, experiment: Experiment) -> list[Variant]:
    """LLM variants at the category's three default λ from the real generator, with equal weights.

    The generator only makes a variant of copy that passed every copy guard; the demo checks the
    guards again before it approves (the generator leaves variants as drafts for a marketer), so
    the demo never shows an ungrounded claim. A λ whose candidates all failed has no variant."""
    from generator.jobs import generation_run_sync
    from generator.pipeline import product_facts
    from generator.selectors import product_context

    job = generation_run_sync(experiment=experiment, candidates=4, top_k=1)
    if job.status != job.Status.SUCCEEDED:
        raise RuntimeError(f"demo generation for {experiment.key} failed: {job.error}")
    facts = fact_index(product_facts(product_context(product=experiment.product)))
    approved = []
    for variant in experiment.variants.filter(is_control=False):
        copy = variant.copies.values_list("copy", flat=True).first() or ""
        if copy and guards_check(copy, facts).clean:  # a reviewer decides on weak (advisory) copy
            approved.append(variants.variant_approve(variant=variant, user=None))
        else:
            variants.variant_delete(variant=variant)
    return approved


def _demo_truths(experiment: Experiment, product: Product, approved: set[tuple[int, int]]) -> dict[str, ArmTruth]:
    """The hidden truth of each arm on `product`: the paper's sweep by λ where the arm shows its own
    copy, the control's where it falls back to the control copy (no approved copy there)."""
    truths = {}
    for variant in experiment.variants.all():
        own = variant.lambda_value is not None and (variant.pk, product.pk) in approved
        truths[variant.key] = demo_arm_truth(float(variant.lambda_value)) if own else DEMO_CONTROL_TRUTH
    return truths


def _demo_events(experiment: Experiment, *, visitors: int, seed: int, end) -> Iterator[dict]:
    """Simulated visitors of every product of the set (visitors split evenly), each event naming its
    product when ingestion stores one (`ingest.rows.ROW_COLUMNS` has `product_id`; before that change
    landed, events without `product` are what `event_validate` takes)."""
    allocation = snapshot_build(experiment).allocation
    products = list(experiment.products.order_by("sku"))
    approved = set(
        VariantCopy.objects.filter(variant__experiment=experiment, status=VariantCopy.Status.APPROVED).values_list(
            "variant_id", "product_id"
        )
    )
    with_product = "product_id" in ROW_COLUMNS
    per_product = -(-visitors // len(products))
    for index, product in enumerate(products):
        events = traffic_events(
            allocation=allocation,
            units=visitors if len(products) == 1 else per_product,
            start=experiment.started_at,
            end=end,
            truths=_demo_truths(experiment, product, approved),
            price=float(product.price),
            # Each experiment, and each product of a set, draws its own visit times and outcomes.
            seed=seed * 1000 + zlib.crc32(experiment.key.encode()) % 997 + index,
            visitor_spread=DEMO_VISITOR_SPREAD,
            unit_prefix=DEMO_VISITOR_PREFIX,
        )
        for event in events:
            yield {**event, "product": product.sku} if with_product else event


def demo_traffic_seed(*, experiment: Experiment, write_key: str, visitors: int | None = None, seed: int = 7) -> int:
    """Start a draft demo experiment two weeks back and store two weeks of simulated visitors
    through the importer's path (validated, exactly once), spread over the set's products. Marks
    the experiment `simulated_traffic`. Returns the events stored; an experiment that already has
    events is left alone."""
    if Event.objects.filter(experiment=experiment).exists():
        return 0
    now = timezone.now()
    if experiment.status == Experiment.Status.DRAFT:
        experiment = services.experiment_start(experiment=experiment)
        experiment.started_at = now - timedelta(days=DEMO_DAYS)
        experiment.save(update_fields=["started_at"])
    services.experiments_mark_simulated(ids=[experiment.pk])
    write_key_id = write_key_authenticate(write_key)
    stored, rows = 0, []
    visitors = DEMO_VISITORS if visitors is None else visitors
    for event in _demo_events(experiment, visitors=visitors, seed=seed, end=now - timedelta(seconds=1)):
        row, _, errors = event_validate(event, now=now)
        if errors:  # the simulator's events are valid by construction; a refusal is a bug
            raise RuntimeError(f"demo event refused: {errors}")
        rows.append(row)
        if len(rows) == 5000:
            stored += events_store(batch_id=str(uuid.uuid4()), rows=rows, write_key_id=write_key_id).stored
            rows = []
    if rows:
        stored += events_store(batch_id=str(uuid.uuid4()), rows=rows, write_key_id=write_key_id).stored
    from analytics.snapshots import snapshot_backfill

    snapshot_backfill(experiment=experiment, now=now)  # the daily looks of the two weeks
    return stored


def demo_catalog_lambdas() -> list[float]:
    """The catalog demo's two LLM arms: the category's recommended λ (the paper's) ± the spread."""
    center = paper_default_lambda(DEMO_CATALOG_CATEGORY)
    return [round(center - DEMO_CATALOG_SPREAD, 2), round(center + DEMO_CATALOG_SPREAD, 2)]


def demo_catalog_experiment_create() -> Experiment:
    """A draft over the category's products (the first DEMO_CATALOG_PER_BRAND of each brand), the
    control alone, with `control_fallback`: a product whose LLM copy did not pass shows the control
    copy there and is left out of the analysis.

    Products already in an active experiment, or in a one-product demo (which the same seeding
    starts), are left out: a product takes part in one active experiment at a time."""
    taken = set(
        ExperimentProduct.objects.filter(experiment__status__in=services.ACTIVE_STATUSES).values_list(
            "product__sku", flat=True
        )
    ) | {sku for _, sku, _ in DEMO_EXPERIMENTS}
    by_brand: dict[str, list[str]] = {}
    for sku, brand in (
        Product.objects.filter(category__name=DEMO_CATALOG_CATEGORY).order_by("sku").values_list("sku", "brand")
    ):
        if sku not in taken and len(by_brand.setdefault(brand, [])) < DEMO_CATALOG_PER_BRAND:
            by_brand[brand].append(sku)
    skus = sorted(sku for brand_skus in by_brand.values() for sku in brand_skus)
    return services.experiment_create(
        key=DEMO_CATALOG_EXPERIMENT,
        name=f"Demo: the {DEMO_CATALOG_CATEGORY} range",
        products={"skus": skus},
        control_fallback=True,
        hypothesis=DEMO_CATALOG_HYPOTHESIS,
        primary_metric=Experiment.Metric.CTR,
        variants=[{"key": "control", "name": "Current copy", "is_control": True, "weight": 1}],
    )


def demo_catalog_copy_generate(*, experiment: Experiment) -> dict[str, int]:
    """Copy for every product at the two λ from the real generator, then approval of exactly the
    copy that passes every check: the brand rules and the copy guards (`copy_flags` empty; its
    findings are computed again here, so a row's stale flags cannot let a claim through). An arm
    left with no approved copy is deleted. Returns approved copies per arm."""
    from django.test.utils import override_settings

    from generator.jobs import generation_run_sync

    # The job reads its round budget from settings (GenerationParams.from_settings); the demo's budget
    # is smaller than a marketer's job, for this one run in this process only.
    with override_settings(GENERATOR_MAX_ROUNDS=DEMO_CATALOG_ROUNDS):
        job = generation_run_sync(
            experiment=experiment, lambdas=demo_catalog_lambdas(), candidates=DEMO_CATALOG_CANDIDATES, top_k=1
        )
    if job.status != job.Status.SUCCEEDED:
        raise RuntimeError(f"demo generation for {experiment.key} failed: {job.error}")
    approved: dict[str, int] = {}
    for variant in experiment.variants.filter(is_control=False):
        rows = VariantCopy.objects.filter(variant=variant, status=VariantCopy.Status.PENDING).select_related(
            "product__category"
        )
        for row in rows:
            flags = copy_flags(row.copy, row.product) if row.copy.strip() else ["empty copy"]
            if flags != row.flags:
                VariantCopy.objects.filter(pk=row.pk).update(flags=flags)
        count = variant_copies_approve_passing(variant=variant, user=None)
        if count:
            approved[variant.key] = count
        else:
            variants.variant_delete(variant=variant)
    return approved


def demo_catalog_experiment_seed(*, report: DemoReport, write_key: str, llm: bool) -> Experiment:
    experiment = Experiment.objects.filter(key=DEMO_CATALOG_EXPERIMENT).first()
    if experiment is None:
        experiment = demo_catalog_experiment_create()
        report.experiments_created.append(experiment.key)
    else:
        report.experiments_existing.append(experiment.key)
    # As for the one-product demos: only while still in its seeded state (a draft with the control alone).
    if llm and experiment.status == Experiment.Status.DRAFT and experiment.variants.count() == 1:
        approved = demo_catalog_copy_generate(experiment=experiment)
        if approved:
            report.catalog_approved = approved
            report.catalog_fallback_products = services.experiment_excluded_products(experiment)
            report.experiments_with_traffic[experiment.key] = demo_traffic_seed(
                experiment=experiment, write_key=write_key
            )
        else:
            report.experiments_without_copy.append(experiment.key)
    return experiment


def demo_seed(*, llm: bool = False) -> DemoReport:
    write_key = demo_write_key()
    report = DemoReport(products_loaded=demo_catalog_seed(), write_key_file=str(demo_write_key_path()))
    for key, sku, hypothesis in DEMO_EXPERIMENTS:
        experiment = Experiment.objects.filter(key=key).first()
        if experiment is None:
            experiment = demo_experiment_create(key=key, sku=sku, hypothesis=hypothesis)
            report.experiments_created.append(key)
        else:
            report.experiments_existing.append(key)
        # Only demo experiments still in their seeded state (a draft with the control alone) get
        # LLM copy and traffic, so a rerun never touches what a user has changed.
        if llm and experiment.status == Experiment.Status.DRAFT and experiment.variants.count() == 1:
            if demo_variants_generate(experiment=experiment):
                report.experiments_with_traffic[key] = demo_traffic_seed(experiment=experiment, write_key=write_key)
            else:
                report.experiments_without_copy.append(key)
    demo_catalog_experiment_seed(report=report, write_key=write_key, llm=llm)
    return report
