"""The demo that `make run` seeds: the catalog, brand rules and one experiment per category.

With `llm=True` (what `make run` does) each demo experiment also gets LLM variants from the real
generator at three λ, is started two weeks back, and receives two weeks of simulated traffic, so
the reports and the λ trade-off view have something to show from the first minute.

Idempotent: running it again updates the catalog in place and leaves existing demo
experiments (and their traffic) alone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from catalog.guards import fact_index, guards_check
from catalog.models import Product
from catalog.services import DEMO_CATALOG, DEMO_GUIDELINES, guidelines_import, products_import_csv
from experiments import services
from experiments.assignment import snapshot_build
from experiments.models import Experiment, Variant
from ingest.accept import event_validate
from ingest.models import Event, WriteKey
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


DEMO_DAYS = 14
DEMO_VISITORS = 12_000
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
        if copy and guards_check(copy, facts).passed:
            approved.append(services.variant_approve(variant=variant, user=None))
        else:
            services.variant_delete(variant=variant)
    return approved


def demo_traffic_seed(*, experiment: Experiment, write_key: str, visitors: int = DEMO_VISITORS, seed: int = 7) -> int:
    """Start a draft demo experiment two weeks back and store two weeks of simulated visitors
    through the importer's path (validated, exactly once). Returns the events stored; an
    experiment that already has events is left alone."""
    if Event.objects.filter(experiment=experiment).exists():
        return 0
    now = timezone.now()
    if experiment.status == Experiment.Status.DRAFT:
        experiment = services.experiment_start(experiment=experiment)
        experiment.started_at = now - timedelta(days=DEMO_DAYS)
        experiment.save(update_fields=["started_at"])
    services.experiments_mark_simulated(ids=[experiment.pk])
    allocation = snapshot_build(experiment).allocation
    lambdas = {v.key: v.lambda_value for v in experiment.variants.all()}
    truths = {key: DEMO_CONTROL_TRUTH if lam is None else demo_arm_truth(float(lam)) for key, lam in lambdas.items()}
    events = traffic_events(
        allocation=allocation,
        units=visitors,
        start=experiment.started_at,
        end=now - timedelta(seconds=1),
        truths=truths,
        price=float(experiment.product.price),
        seed=seed,
    )
    write_key_id = write_key_authenticate(write_key)
    stored, rows = 0, []
    for event in events:
        row, _, errors = event_validate(event, now=now)
        if errors:  # the simulator's events are valid by construction; a refusal is a bug
            raise RuntimeError(f"demo event refused: {errors}")
        rows.append(row)
        if len(rows) == 5000:
            stored += events_store(batch_id=str(uuid.uuid4()), rows=rows, write_key_id=write_key_id).stored
            rows = []
    if rows:
        stored += events_store(batch_id=str(uuid.uuid4()), rows=rows, write_key_id=write_key_id).stored
    from analytics.services import snapshot_backfill

    snapshot_backfill(experiment=experiment, now=now)  # the daily looks of the two weeks
    return stored


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
    return report
