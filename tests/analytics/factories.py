"""Fast test data for reports: raw events and the per-unit totals they add up to, bulk-inserted.

The storefront path (HTTP → Celery → events_store) is tested in tests/ingest; here the
same rows are written directly, thousands at a time.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from experiments.models import Experiment
from ingest.accept import EVENT_TYPES
from ingest.models import Event, EventType, UnitTotals
from simulator.traffic import ArmTruth, visit_funnel, visitor_propensity, visitor_truth, visits_of
from tests.conftest import arm_copy

# A variant's true rates (CTR 9 %, CVR 4 % unless given), as the traffic simulator's.
Truth = ArmTruth


def traffic(
    experiment: Experiment,
    *,
    units: int,
    days: int,
    truths: dict[str, Truth] | None = None,
    seed: int = 0,
    start: datetime | None = None,
    price: float = 20.0,
    totals: bool = True,
    unit_prefix: str = "u",
    visitor_spread: float = 0.0,
    rng_seed: int | None = None,
) -> list[Event]:
    """Simulated visitors over `days` UTC days from `start` (default: `days` days before today's midnight).

    Units are split across variants by weight (deterministically, so the split is exact); each
    visits 1-3 times, each visit an impression that converts along the funnel at the variant's
    true rates. Sets the experiment's started_at to `start`. Returns the events written.

    `visitor_spread` > 0: visitors differ in keenness, the same in every experiment (the simulator's
    `visitor_propensity`); `rng_seed` (default `seed`) draws the visits, so two experiments can share
    their unit ids (`unit_prefix` and `seed`) but not their luck.
    """
    rng = random.Random(seed if rng_seed is None else rng_seed)
    truths = truths or {}
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = start or today - timedelta(days=days)
    Experiment.objects.filter(pk=experiment.pk).update(started_at=start)
    experiment.refresh_from_db()
    variants = list(experiment.variants.order_by("position", "id"))
    total_weight = sum(v.weight for v in variants)
    # Cumulative weight boundaries: unit i goes to the variant whose slice holds (i mod 1000) / 1000.
    bounds, running = [], 0.0
    for variant in variants:
        running += variant.weight / total_weight
        bounds.append(running)
    events: list[Event] = []
    received = datetime.now(UTC)
    for i in range(units):
        position = (i * 0.618033988749895) % 1.0  # low-discrepancy: exact shares for any count
        variant = next(v for v, b in zip(variants, bounds, strict=True) if position < b)
        truth = truths.get(variant.key, Truth())
        unit = f"{unit_prefix}{seed}-{i}"
        propensity = visitor_propensity(unit, visitor_spread)
        unit_truth = visitor_truth(truth, propensity)
        first = rng.random() * days * 86_400
        visits = rng.choice((1, 1, 2, 3)) if visitor_spread <= 0 else visits_of(rng, propensity)
        for visit in range(visits):
            at = start + timedelta(seconds=min(days * 86_400 - 200, first + visit * rng.random() * 86_400))
            base = f"{seed}-{i}-{visit}"

            for kind, offset, revenue in visit_funnel(rng, unit_truth, price):
                events.append(
                    Event(
                        experiment=experiment,
                        variant=variant,
                        event_id=f"{base}-{kind}",
                        type=EVENT_TYPES[kind],
                        unit=unit,
                        ts=at + timedelta(seconds=offset),
                        revenue=revenue,
                        received_at=received,
                    )
                )
    Event.objects.bulk_create(events, batch_size=2000)
    if totals:
        totals_from_events(experiment, events)
    return events


def totals_from_events(experiment: Experiment, events: list[Event]) -> list[UnitTotals]:
    """The per-unit totals exactly as ingestion keeps them."""
    rows: dict[tuple[str, int], UnitTotals] = {}
    counts = defaultdict(lambda: [0, 0, 0, 0])
    for event in events:
        key = (event.unit, event.variant_id)
        row = rows.get(key)
        if row is None:
            row = rows[key] = UnitTotals(
                experiment=experiment,
                variant_id=event.variant_id,
                unit=event.unit,
                first_seen=event.ts,
                last_seen=event.ts,
            )
        counts[key][event.type] += 1
        row.revenue += event.revenue or 0.0
        row.first_seen = min(row.first_seen, event.ts)
        row.last_seen = max(row.last_seen, event.ts)
        if event.type == EventType.IMPRESSION and (row.first_exposure is None or event.ts < row.first_exposure):
            row.first_exposure = event.ts
    for key, row in rows.items():
        row.impressions, row.clicks, row.add_to_carts, row.orders = counts[key]
    UnitTotals.objects.bulk_create(list(rows.values()), batch_size=2000)
    return list(rows.values())


def category_product(category: str, sku: str, brand: str = "Voltora"):
    """A product of the named demo category (the catalog migration creates the categories)."""
    from catalog.models import Category, Product

    product, _ = Product.objects.get_or_create(
        sku=sku,
        defaults={
            "title": f"{category} test product {sku}",
            "brand": brand,
            "category": Category.objects.get(name=category),
            "price": "25.00",
            "description": f"A {category.lower()} product used by the report tests.",
        },
    )
    return product


SWEEP_TRUTHS = {  # CVR flat, then falling faster as λ grows: a concave trade-off with its elbow near 0.5
    0.2: Truth(ctr=0.110, cvr=0.050),
    0.4: Truth(ctr=0.105, cvr=0.049),
    0.6: Truth(ctr=0.098, cvr=0.044),
    0.8: Truth(ctr=0.090, cvr=0.034),
}


def sweep_experiment(make_experiment, *, key: str, category: str, sku: str, units: int, seed: int, days: int = 4):
    """A running experiment with a control and LLM arms at λ = 0.2 … 0.8, with traffic."""
    rows = [
        {
            "key": "control",
            "is_control": True,
            "copy": "The product as it is described today.",
            "weight": 1,
            "approved": True,
        },
    ]
    for lam in SWEEP_TRUTHS:
        rows.append(
            {
                "key": f"llm-l{round(lam * 100):03d}",
                "lambda_value": lam,
                "copy": f"Copy written at creativity {lam}: try it today.",
                "weight": 1,
                "approved": True,
                "source": "llm",
            }
        )
    experiment = make_experiment(
        key, start=True, variants=rows, product=category_product(category, sku), primary_metric="cvr"
    )
    truths = {f"llm-l{round(lam * 100):03d}": truth for lam, truth in SWEEP_TRUTHS.items()}
    truths["control"] = Truth(ctr=0.1, cvr=0.047)
    traffic(experiment, units=units, days=days, truths=truths, seed=seed)
    return experiment


def candidates_for(experiment: Experiment) -> None:
    """Generator records for the LLM arms, with diversity growing with λ (as the paper reports)."""
    from generator.models import Candidate, GenerationJob

    job = GenerationJob.objects.create(experiment=experiment, lambdas=[], status=GenerationJob.Status.SUCCEEDED)
    for position, variant in enumerate(experiment.variants.exclude(lambda_value=None)):
        lam = variant.lambda_value
        Candidate.objects.create(
            job=job,
            lambda_value=lam,
            position=position,
            text=arm_copy(variant).copy,
            novelty=0.3 + 0.45 * lam,
            diversity=0.35 + 0.4 * lam,
            sentiment=0.4,
            cta_density=0.05,
            readability=60.0,
            keyword_strength=0.5,
            relevance=0.6,
            p_conv=0.04,
            reward=0.5,
            rank=1,
            variant=variant,
        )
