"""Group-sequential boundaries with Lan-DeMets O'Brien-Fleming-type alpha spending.

For a design with a planned number of looks at information fractions t_1 < ... < t_K (the
share of the planned sample seen so far), the two-sided level-alpha test rejects at the first
look k with |Z_k| >= c_k. The boundaries c_k spend the type-I error as

    alpha(t) = 2 * [2 - 2 Phi(z_{1 - alpha/4} / sqrt(t))]

i.e. the one-sided O'Brien-Fleming-type spending function of Lan & DeMets (1983) at level
alpha/2 on each side (the convention of ``ldbounds`` and ``gsDesign``; for K = 5 equal looks at
alpha = 0.05 it gives 4.877, 3.357, 2.680, 2.290, 2.031). Almost nothing is spent early, so
the final boundary stays close to 1.96 and little power is lost.

Each c_k solves P(no crossing before k, |Z_k| >= c_k) = alpha(t_k) - alpha(t_{k-1}) under
H0, computed by recursive numerical integration (Armitage, McPherson & Rowe 1969;
Jennison & Turnbull 2000, ch. 19) of the score process B(t) = Z(t) sqrt(t), a Brownian
motion in information time: Simpson's rule on a grid over the continuation region, with the
normal transition density between looks. Because only the fractions up to the current look
are needed, looks need not be equally spaced or planned exactly (the point of spending
functions).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import optimize, special
from scipy import stats as sps

from analytics.stats.results import ResultMixin

# Simpson's rule needs an odd number of nodes; 201 nodes reproduce published boundaries to
# ~1e-4 (checked in the tests) at a fraction of the cost of finer grids.
_GRID_POINTS = 201
# Mass of the score process beyond this many standard deviations is ~1e-23 and ignored.
_TAIL_SD = 10.0
# Spending increments below this are treated as "no alpha left at this look".
_TINY = 1e-300
# Repeated p-values are searched down to this level; smaller ones are reported as this.
P_VALUE_FLOOR = 1e-12
_SQRT_2PI = math.sqrt(2.0 * math.pi)


def obrien_fleming_spending(t: float | np.ndarray, alpha: float) -> float | np.ndarray:
    """Two-sided type-I error spent by information fraction ``t`` (capped at 1)."""
    t = np.minimum(np.asarray(t, dtype=float), 1.0)
    with np.errstate(divide="ignore"):
        spent = 4.0 * sps.norm.sf(sps.norm.isf(alpha / 4.0) / np.sqrt(t))
    return np.where(t > 0, spent, 0.0) if spent.ndim else float(spent if t > 0 else 0.0)


def _simpson_weights(points: int, step: float) -> np.ndarray:
    weights = np.ones(points)
    weights[1:-1:2] = 4.0
    weights[2:-1:2] = 2.0
    return weights * step / 3.0


class _ScoreProcess:
    """Sub-density of B(t_k) on the continuation region after k looks."""

    def __init__(self, drift: float) -> None:
        self.drift = drift
        self.t = 0.0
        self.grid: np.ndarray | None = None  # None: B(t) is exactly 0 (before the first look)
        self.mass: np.ndarray | None = None  # density * Simpson weights at the grid nodes

    def exit_probability(self, t: float, boundary_b: float) -> float:
        """P(no earlier crossing, |B(t)| >= boundary_b)."""
        sd = math.sqrt(t - self.t)
        shift = self.drift * (t - self.t)
        # scipy.special.ndtr instead of scipy.stats.norm: same function, far less per-call
        # overhead, which matters inside the root finders below.
        if self.grid is None:
            return float(special.ndtr((shift - boundary_b) / sd) + special.ndtr((-boundary_b - shift) / sd))
        upper = special.ndtr((self.grid + shift - boundary_b) / sd)
        lower = special.ndtr((-boundary_b - self.grid - shift) / sd)
        return float(np.dot(self.mass, upper + lower))

    def advance(self, t: float, boundary_b: float) -> None:
        """Condition on |B(t)| < boundary_b and move to information time t."""
        sd = math.sqrt(t - self.t)
        shift = self.drift * (t - self.t)
        reach = abs(self.drift) * t + _TAIL_SD * math.sqrt(t)
        half = min(boundary_b, reach)
        grid = np.linspace(-half, half, _GRID_POINTS)
        weights = _simpson_weights(_GRID_POINTS, grid[1] - grid[0])
        if self.grid is None:
            density = np.exp(-0.5 * ((grid - shift) / sd) ** 2) / (sd * _SQRT_2PI)
        else:
            kernel = np.exp(-0.5 * ((grid[:, None] - self.grid[None, :] - shift) / sd) ** 2) / (sd * _SQRT_2PI)
            density = kernel @ self.mass
        self.t, self.grid, self.mass = t, grid, density * weights


def _validate_fractions(fractions: Sequence[float]) -> tuple[float, ...]:
    values = tuple(float(t) for t in fractions)
    if not values:
        raise ValueError("at least one information fraction is needed")
    if any(not math.isfinite(t) or t <= 0 for t in values):
        raise ValueError("information fractions must be positive and finite")
    if any(b <= a for a, b in itertools.pairwise(values)):
        raise ValueError("information fractions must be strictly increasing")
    return values


@lru_cache(maxsize=4096)
def _boundaries(fractions: tuple[float, ...], alpha: float, spend_rest: bool = False) -> tuple[float, ...]:
    """``spend_rest``: the last look is final and spends all of alpha that is left."""
    process = _ScoreProcess(drift=0.0)
    spent_before = 0.0
    result: list[float] = []
    for index, t in enumerate(fractions):
        spent = float(4.0 * special.ndtr(-special.ndtri(1.0 - alpha / 4.0) / math.sqrt(min(t, 1.0))))
        if spend_rest and index == len(fractions) - 1:
            spent = alpha
        target = spent - spent_before
        spent_before = spent
        if target <= _TINY:
            boundary = math.inf
        elif process.grid is None:
            boundary = float(-special.ndtri(target / 2.0))
        else:

            def gap(c: float, t: float = t, target: float = target) -> float:
                return math.log(max(process.exit_probability(t, c * math.sqrt(t)), 1e-320)) - math.log(target)

            # gap(0+) < 0 only happens for alpha close to 1, when more alpha is due than the
            # paths still running carry: every path stops, i.e. the boundary is 0.
            boundary = float(optimize.brentq(gap, 1e-9, 60.0, xtol=1e-10)) if gap(1e-9) > 0 else 0.0
        result.append(boundary)
        process.advance(t, boundary * math.sqrt(t))
    return tuple(result)


def group_sequential_boundaries(
    information_fractions: Sequence[float], alpha: float = 0.05, *, final_look: bool = False
) -> np.ndarray:
    """Two-sided z boundaries c_1..c_k for looks at ``information_fractions`` (inf: no alpha left).

    ``final_look``: the last look is final and spends all of alpha that is left (whatever its t).
    """
    if not 0 < alpha < 1:
        raise ValueError("alpha must lie strictly between 0 and 1")
    return np.array(_boundaries(_validate_fractions(information_fractions), float(alpha), final_look))


def crossing_probability(boundaries: Sequence[float], information_fractions: Sequence[float], drift: float) -> float:
    """P(|Z_k| >= c_k at some look) when Z at full information has mean ``drift``.

    Under H0 (drift 0) this is the alpha spent; with drift = effect / std error at t = 1 it is
    the power of the design.
    """
    fractions = _validate_fractions(information_fractions)
    process = _ScoreProcess(drift=float(drift))
    total = 0.0
    for t, c in zip(fractions, boundaries, strict=True):
        if math.isfinite(c):
            total += process.exit_probability(t, c * math.sqrt(t))
        process.advance(t, c * math.sqrt(t))
    return min(total, 1.0)


def repeated_p_value(z: float, information_fractions: Sequence[float], *, final_look: bool = False) -> float:
    """Smallest alpha at which the design would reject at the last of ``information_fractions``.

    This is the p-value dual to the repeated confidence interval estimate ± c_k(alpha) * se
    (Jennison & Turnbull 1989): p <= alpha exactly when the current look crosses the level-alpha
    boundary. Values below ``P_VALUE_FLOOR`` are reported as the floor. ``final_look``: the last
    look is the design's final one and spends all of alpha that is left.
    """
    fractions = _validate_fractions(information_fractions)
    z = abs(float(z))

    def excess(log_alpha: float) -> float:
        return z - _boundaries(fractions, math.exp(log_alpha), final_look)[-1]

    low, high = math.log(P_VALUE_FLOOR), math.log(1.0 - 1e-9)
    if excess(low) >= 0:
        return P_VALUE_FLOOR
    if excess(high) < 0:
        return 1.0
    return float(math.exp(optimize.brentq(excess, low, high, xtol=1e-6)))


# --- Observed information: one look per day, alpha spent by units so far / planned units ---------


@dataclass(frozen=True)
class InformationSchedule(ResultMixin):
    """How a run of daily looks maps onto a group-sequential design (one entry per look).

    ``fractions[i]``: the information fraction look i is analysed at (units so far / planned,
    with the plan's final look set to exactly 1); ``boundaries[i]``: its two-sided z boundary;
    ``design_look[i]``: False for a look that adds no units (it repeats the previous look) and
    for looks after the final one; ``final_look``: index of the look that spent the rest of
    alpha, None while the plan is running.
    """

    planned_units: float
    alpha: float
    fractions: tuple[float, ...]
    boundaries: tuple[float, ...]
    design_look: tuple[bool, ...]
    final_look: int | None
    after_plan: tuple[bool, ...]


def observed_information_schedule(
    units_by_look: Sequence[float], planned_units: float, alpha: float = 0.05, *, ended: bool = False
) -> InformationSchedule:
    """Boundaries for daily looks at the units observed so far (control + treatment, cumulative).

    Rules (Lan-DeMets spending makes them valid whatever the traffic did):

    * alpha is spent by the information fraction t = units so far / ``planned_units``, whatever
      the calendar says (ramping traffic and weekend dips move t, not the day count);
    * a look with no new units is not a new look: it repeats the previous boundary;
    * the first look with t >= 1 is the final look and spends all remaining alpha, at its actual
      t (an overrun to 1.1 is analysed at 1.1); ``ended=True`` makes the last look final even
      before the plan's units are reached (an experiment stopped on the calendar spends the
      rest at its last look, at its actual t < 1);
    * after the final look the design is over: later looks reuse the final boundary for their
      intervals, and the decision stays the one taken at the final look (see
      :func:`analytics.stats.observed_sequential.observed_group_sequential_path`).
    """
    if not (math.isfinite(planned_units) and planned_units > 0):
        raise ValueError("planned_units must be positive")
    units = [float(u) for u in units_by_look]
    if any(not math.isfinite(u) or u < 0 for u in units):
        raise ValueError("units must be non-negative numbers")
    if any(b < a for a, b in itertools.pairwise(units)):
        raise ValueError("units must be cumulative (non-decreasing)")
    design: list[float] = []  # fractions of the looks that count
    fractions: list[float] = []
    boundaries: list[float] = []
    is_design: list[bool] = []
    after: list[bool] = []
    final: int | None = None
    for i, u in enumerate(units):
        t = u / planned_units
        last = ended and i == len(units) - 1
        if final is not None:  # the plan is over: the final boundary, for display
            fractions.append(fractions[final])
            boundaries.append(boundaries[final])
            is_design.append(False)
            after.append(True)
            continue
        if t <= 0 or (design and t <= design[-1]):  # no new units: not a new look
            fractions.append(design[-1] if design else 0.0)
            boundaries.append(boundaries[-1] if boundaries else math.inf)
            is_design.append(False)
            after.append(False)
            if last and design:  # an ended plan whose last day added nothing: the previous look was final
                final = len(fractions) - 2
            continue
        design.append(t)
        is_final = t >= 1.0 or last
        fractions.append(t)
        # The final look is analysed at its actual information (t may be above or below 1), so the
        # correlation with earlier looks is the true one, and it spends all of alpha still left.
        boundaries.append(float(_boundaries(tuple(design), float(alpha), is_final)[-1]))
        is_design.append(True)
        after.append(False)
        if is_final:
            final = i
    return InformationSchedule(
        planned_units=float(planned_units),
        alpha=float(alpha),
        fractions=tuple(fractions),
        boundaries=tuple(boundaries),
        design_look=tuple(is_design),
        final_look=final,
        after_plan=tuple(after),
    )
