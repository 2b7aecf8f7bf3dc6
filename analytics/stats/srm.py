"""Sample ratio mismatch: are units split across variants as configured?

Pearson chi-square goodness of fit of the unit counts per variant against the configured
traffic weights, flagged at p < 0.001 (the conventional threshold: SRM is checked on every
look of every experiment, so a 5 % threshold would cry wolf constantly). A mismatch means
the assignment or the tracking is broken and the lifts cannot be trusted.

Edge cases, handled explicitly rather than letting a division by zero decide:
* a variant with positive weight and zero units is an ordinary (large) chi-square term;
* a variant with zero weight and zero units is left out of the test (it is switched off);
* a variant with zero weight but some units is a certain mismatch (p = 0, flagged);
* no units at all, or fewer than two variants with positive weight: no test, ``reason`` says why.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats as sps

from analytics.stats.results import ResultMixin, finite_or_none

DEFAULT_SRM_THRESHOLD = 0.001
_MAX_UNITS = 1e15  # beyond any real experiment; keeps int -> float conversions exact and finite


@dataclass(frozen=True)
class SrmRow(ResultMixin):
    name: str
    units: int
    weight: float
    expected_share: float | None
    observed_share: float | None
    expected_units: float | None
    chi_square_term: float | None  # this variant's (observed - expected)^2 / expected


@dataclass(frozen=True)
class SrmResult(ResultMixin):
    p_value: float | None
    chi_square: float | None
    dof: int | None
    flagged: bool
    threshold: float
    total_units: int
    rows: tuple[SrmRow, ...]
    reason: str | None = None


def srm_test(
    units: Sequence[int],
    weights: Sequence[float],
    *,
    names: Sequence[str] | None = None,
    threshold: float = DEFAULT_SRM_THRESHOLD,
) -> SrmResult:
    """Chi-square SRM test of ``units`` per variant against ``weights`` (any positive scale)."""
    names = list(names) if names is not None else [f"variant_{i}" for i in range(len(units))]

    def empty(reason: str, total: int = 0, rows: tuple[SrmRow, ...] = ()) -> SrmResult:
        return SrmResult(None, None, None, False, threshold, total, rows, reason)

    if not (len(units) == len(weights) == len(names)):
        return empty("units, weights and names must have the same length")
    counts: list[int] = []
    for u in units:
        if (
            isinstance(u, bool)
            or not isinstance(u, int | float)
            or not math.isfinite(u)
            or u < 0
            or u != int(u)
            or u > _MAX_UNITS
        ):
            return empty("unit counts must be non-negative whole numbers (below 1e15)")
        counts.append(int(u))
    shares: list[float] = []
    for w in weights:
        if isinstance(w, bool) or not isinstance(w, int | float) or not math.isfinite(w) or w < 0:
            return empty("weights must be non-negative numbers")
        shares.append(float(w))
    total = sum(counts)
    # Normalise by the largest weight first so that huge weights cannot overflow the sum.
    largest = max(shares, default=0.0)
    configured = list(shares)
    shares = [w / largest for w in shares] if largest > 0 else shares
    total_weight = sum(shares)
    active = [i for i, w in enumerate(shares) if w > 0]

    def share(i: int) -> float | None:
        return shares[i] / total_weight if total_weight > 0 else None

    rows = []
    chi_square = 0.0
    for i, (name, count, weight) in enumerate(zip(names, counts, configured, strict=True)):
        expected = share(i) * total if share(i) is not None and total > 0 else None
        term = (count - expected) * (count - expected) / expected if expected else None
        if term is not None:
            chi_square += term
        rows.append(
            SrmRow(
                name=str(name),
                units=count,
                weight=weight,
                expected_share=share(i),
                observed_share=count / total if total > 0 else None,
                expected_units=expected,
                chi_square_term=term,
            )
        )
    table = tuple(rows)
    if total == 0:
        return empty("no units in any variant", 0, table)
    if any(shares[i] == 0 and counts[i] > 0 for i in range(len(counts))):
        return SrmResult(
            p_value=0.0,
            chi_square=None,
            dof=len(active) - 1 if len(active) > 1 else None,
            flagged=True,
            threshold=threshold,
            total_units=total,
            rows=table,
            reason="units were assigned to a variant with zero weight",
        )
    if len(active) < 2:
        return empty("fewer than two variants with positive weight: nothing to compare", total, table)
    dof = len(active) - 1
    p_value = float(sps.chi2.sf(chi_square, dof))
    return SrmResult(
        p_value=finite_or_none(p_value),
        chi_square=finite_or_none(chi_square),
        dof=dof,
        flagged=p_value < threshold,
        threshold=threshold,
        total_units=total,
        rows=table,
    )
