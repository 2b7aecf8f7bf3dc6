"""Synthetic storefront traffic with known true rates per variant (seeded, reproducible).

Each visitor makes 1 + Poisson(0.4) visits spread over the window; each visit is an
impression; a visit converts along the funnel impression → click → add-to-cart → order with
probabilities chosen so that, per impression, P(click) = CTR and P(order) = CVR (the paper's
definitions). A visitor who orders spends the product price times 1–3 items.

Visitors may differ (`visitor_spread` > 0): each has its own propensity, a log-normal multiplier of
mean 1 on its click and order rates and on its number of visits, drawn from a hash of the unit id
so that the same visitor is as keen in every experiment. That is what makes a visitor's past
behaviour predict its behaviour in a test, which CUPED uses (`simulator.cuped_check`).
"""

from __future__ import annotations

import hashlib
import math
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from experiments.hashing import Allocation

DEFAULT_CTR = 0.09
DEFAULT_CVR = 0.04
EXTRA_VISITS_MEAN = 0.4


@dataclass(frozen=True)
class ArmTruth:
    ctr: float = DEFAULT_CTR
    cvr: float = DEFAULT_CVR

    def __post_init__(self) -> None:
        if not 0 < self.ctr <= 1 or not 0 <= self.cvr <= self.ctr:
            raise ValueError(f"need 0 < ctr ≤ 1 and 0 ≤ cvr ≤ ctr (got ctr={self.ctr}, cvr={self.cvr})")

    @property
    def p_order_given_click(self) -> float:
        return self.cvr / self.ctr

    @property
    def p_cart_given_click(self) -> float:
        # Every order passes through the cart; some carts are abandoned.
        return min(1.0, self.p_order_given_click + 0.25)


def visitor_propensity(unit: str, spread: float) -> float:
    """The visitor's own keenness: exp(spread·z − spread²/2) with z ~ N(0, 1) drawn from a hash of `unit`
    (mean 1, the same in every experiment); 1 for every visitor when `spread` is 0."""
    if spread <= 0:
        return 1.0
    digest = hashlib.sha256(unit.encode()).digest()
    z = random.Random(int.from_bytes(digest[:8], "big")).gauss(0.0, 1.0)
    return math.exp(spread * z - spread * spread / 2)


def visitor_truth(truth: ArmTruth, propensity: float) -> ArmTruth:
    """The arm's rates for a visitor of this propensity (CTR capped at 0.95, CVR at the CTR)."""
    if propensity == 1.0:
        return truth
    ctr = min(truth.ctr * propensity, 0.95)
    return ArmTruth(ctr=ctr, cvr=min(truth.cvr * propensity, ctr))


def visits_of(rng: random.Random, propensity: float = 1.0) -> int:
    """How many visits a visitor makes: 1 + Poisson(0.4 × propensity)."""
    return 1 + _poisson(rng, EXTRA_VISITS_MEAN * propensity)


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: fine for the small means used here.
    limit, k, p = pow(2.718281828459045, -mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def visit_funnel(rng: random.Random, truth: ArmTruth, price: float) -> list[tuple[str, float, float | None]]:
    """One visit along impression → click → add-to-cart → order at the arm's true rates:
    (event type, seconds after the impression, revenue). Per impression P(click) = CTR and
    P(order) = CVR; an order's revenue is 1–3 items at `price`. The one funnel of every
    simulated visitor (the HTTP simulator, the demo, the tests' database factories)."""
    steps: list[tuple[str, float, float | None]] = [("impression", 0.0, None)]
    if rng.random() >= truth.ctr:
        return steps
    steps.append(("click", 5.0, None))
    if rng.random() >= truth.p_cart_given_click:
        return steps
    steps.append(("add_to_cart", 30.0, None))
    if rng.random() < truth.p_order_given_click / truth.p_cart_given_click:
        steps.append(("order", 90.0, round(price * rng.randint(1, 3), 2)))
    return steps


def traffic_events(
    *,
    allocation: Allocation,
    units: int,
    start: datetime,
    end: datetime,
    truths: dict[str, ArmTruth] | Callable[[str, datetime], ArmTruth],
    price: float,
    seed: int = 0,
    visitor_spread: float = 0.0,
    unit_prefix: str | None = None,
) -> Iterator[dict]:
    """Events in API shape for `units` visitors of the experiment, in no particular order.

    `truths` maps variant keys to fixed rates, or is a function (variant key, visit time) →
    rates, e.g. the text-aware model of `simulator.textmodel` with its weekday effects.
    `visitor_spread`: visitors differ by a propensity of this log-normal spread (see the module doc).
    `unit_prefix`: visitor i is `{unit_prefix}{i}` (default `sim-{seed}-{i}`), so experiments can share a pool
    of visitors, each seen at its own times in each.
    """
    truth_at = truths if callable(truths) else (lambda variant, at: truths.get(variant, ArmTruth()))
    rng = random.Random(seed)
    span = max((end - start).total_seconds(), 1.0)
    run = uuid.UUID(int=rng.getrandbits(128)).hex[:8]
    for i in range(units):
        unit = f"sim-{seed}-{i}" if unit_prefix is None else f"{unit_prefix}{i}"
        index = allocation.variation_index(unit)
        if index < 0:
            continue  # outside coverage or namespace: the storefront shows control, untracked
        variant = allocation.variant_keys[index]
        propensity = visitor_propensity(unit, visitor_spread)
        first = rng.random() * span
        for visit in range(visits_of(rng, propensity)):
            at = start + timedelta(seconds=min(span, first + visit * rng.random() * 86_400))
            base = f"{run}-{i}-{visit}"
            truth = visitor_truth(truth_at(variant, at), propensity)

            def event(kind: str, offset: float, base=base, at=at, variant=variant, unit=unit, **extra) -> dict:
                ts = min(at + timedelta(seconds=offset), end)
                return {
                    "event_id": f"{base}-{kind}",
                    "type": kind,
                    "experiment": allocation.key,
                    "unit": unit,
                    "variant": variant,
                    "ts": ts.isoformat(),
                    **extra,
                }

            for kind, offset, revenue in visit_funnel(rng, truth, price):
                yield event(kind, offset) if revenue is None else event(kind, offset, revenue=revenue)
