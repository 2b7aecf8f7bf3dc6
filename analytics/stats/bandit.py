"""Adaptive λ: Thompson sampling weights for the LLM arms of a bandit-mode experiment (pure Python).

The hash space of a bandit-mode experiment has two slices (see `experiments.hashing.Allocation`):

- the **holdout slice** `[0, holdout)`: always split evenly between all arms, control included.
  It never changes, so the report analyses it alone as an ordinary fixed-allocation A/B test;
- the **adaptive slice** `[holdout, 1)`: the control keeps a fixed share, and the rest is split
  between the λ arms in proportion to each arm's posterior probability of being the best on the
  primary metric (Thompson sampling), with a floor on every arm's share so no arm starves.

Posteriors are Beta(1 + successes, 1 + failures) per impression (clicks or orders per
impression). `thompson_weights` is deterministic for a given seed, so a re-weighting can be
reproduced from the allocation history.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

DEFAULT_DRAWS = 4000


@dataclass(frozen=True)
class ArmCounts:
    key: str
    trials: int  # impressions
    successes: int  # clicks or orders


@dataclass(frozen=True)
class BanditWeights:
    weights: dict[str, float]  # sums to 1 over all arms, control included (adaptive slice)
    prob_best: dict[str, float]  # per λ arm: posterior probability of being the best λ arm


def prob_best(arms: Sequence[ArmCounts], *, draws: int = DEFAULT_DRAWS, seed: int = 0) -> dict[str, float]:
    """P(arm has the highest rate) under independent Beta(1 + s, 1 + n − s) posteriors, by Monte Carlo."""
    if not arms:
        return {}
    rng = random.Random(seed)
    wins = dict.fromkeys((a.key for a in arms), 0)
    params = [(a.key, 1 + max(a.successes, 0), 1 + max(a.trials - a.successes, 0)) for a in arms]
    for _ in range(draws):
        best_key, best = "", -1.0
        for key, alpha, beta in params:
            value = rng.betavariate(alpha, beta)
            if value > best:
                best_key, best = key, value
        wins[best_key] += 1
    return {key: count / draws for key, count in wins.items()}


def apply_floor(shares: Mapping[str, float], *, total: float, floor: float) -> dict[str, float]:
    """Scale `shares` to sum to `total` with every share ≥ `floor` (water-filling; floors first)."""
    keys = list(shares)
    if not keys:
        return {}
    floor = min(floor, total / len(keys))
    result: dict[str, float] = {}
    free = list(keys)
    budget = total
    # Arms whose proportional share falls under the floor are pinned to it, the rest re-split.
    while True:
        mass = sum(shares[k] for k in free)
        proposal = {k: (budget * shares[k] / mass if mass > 0 else budget / len(free)) for k in free}
        pinned = [k for k, v in proposal.items() if v < floor]
        if not pinned:
            result.update(proposal)
            return result
        for k in pinned:
            result[k] = floor
            free.remove(k)
            budget -= floor
        if not free:
            return result


def thompson_weights(
    *,
    arms: Sequence[ArmCounts],
    control: str,
    control_share: float,
    floor: float,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
) -> BanditWeights:
    """Adaptive-slice weights: control fixed at `control_share`, λ arms by P(best) with a floor each.

    `floor` is a share of the whole adaptive slice; it is lowered when the arms cannot all reach it.
    """
    if not 0 <= control_share < 1:
        raise ValueError("control_share must be in [0, 1)")
    treatments = [a for a in arms if a.key != control]
    probabilities = prob_best(treatments, draws=draws, seed=seed)
    weights = {control: control_share} if any(a.key == control for a in arms) else {}
    weights |= apply_floor(probabilities, total=1.0 - sum(weights.values()), floor=floor)
    return BanditWeights(weights=weights, prob_best=probabilities)
