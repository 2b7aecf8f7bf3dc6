"""One explicit configuration for every test in :mod:`analytics.stats`.

A single frozen dataclass (rather than one per test, as in gbstats) because an experiment
stores one analysis configuration and the report applies it to every metric and arm.
Invalid settings raise ``ValueError`` at construction: they are programming or form errors,
unlike degenerate *data*, which never raises.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, TypeAlias

Sides: TypeAlias = Literal["two-sided", "greater", "less"]
DifferenceType: TypeAlias = Literal["relative", "absolute"]
TestKind: TypeAlias = Literal["welch_t", "z"]
SequentialMethod: TypeAlias = Literal["cs", "msprt", "group_sequential"]
Correction: TypeAlias = Literal["holm", "bh", "none"]


def _whole(value: float) -> bool:
    return math.isfinite(value) and int(value) == value


@dataclass(frozen=True)
class StatsConfig:
    """Analysis settings.

    alpha: significance level of every test and 1 - coverage of every interval.
    sides: alternative of the fixed-horizon test. Sequential methods are always two-sided
        (a one-sided look at a two-sided confidence sequence is valid, just conservative).
    difference_type: which lift the headline p-value, interval and decision refer to;
        both lifts are always computed.
    test: Welch t with Welch-Satterthwaite degrees of freedom (what gbstats does) or z.
    sequential_method: "cs" (Gaussian-mixture confidence sequence), "msprt" (mixture SPRT
        parametrised by the effect scale), or "group_sequential" (Lan-DeMets
        O'Brien-Fleming-type spending over ``planned_looks``).
    sequential_tuning_n: total units over both arms at which the confidence sequence is
        tightest (gbstats' ``sequential_tuning_parameter``, default 5000 as there).
    msprt_tau: standard deviation of the mSPRT's normal mixing distribution over the true
        effect, as a relative lift (0.05 = 5 %; multiplied by the control mean when
        ``difference_type`` is absolute). Best set near the smallest lift worth detecting.
    planned_looks: number of equally spaced looks a group-sequential design plans.
    min_units_per_arm: sequential tests never say stop before both arms have this many
        units (p-values and intervals are still shown, with a warning). Every method here
        rests on the normal approximation, which fails first at the earliest looks: in the
        simulations, a skewed revenue metric at 200 units per arm per day gave a 9.5 %
        false-positive rate for the confidence sequence without this burn-in, 4.5 % with it.
    correction: adjustment across the treatment arms within one metric.
    srm_threshold: SRM is flagged when the chi-square p-value is below this.
    prior_*: Gaussian prior on the lift for the Bayesian summary; ignored unless
        ``prior_proper`` (the default is a flat prior, as in gbstats).
    """

    alpha: float = 0.05
    sides: Sides = "two-sided"
    difference_type: DifferenceType = "relative"
    test: TestKind = "welch_t"
    sequential_method: SequentialMethod = "cs"
    sequential_tuning_n: float = 5000.0
    msprt_tau: float = 0.05
    planned_looks: int = 28
    min_units_per_arm: int = 1000
    correction: Correction = "holm"
    srm_threshold: float = 0.001
    prior_proper: bool = False
    prior_mean: float = 0.0
    prior_variance: float = 1.0

    def __post_init__(self) -> None:
        if not (0.0 < self.alpha < 1.0):
            raise ValueError("alpha must lie strictly between 0 and 1")
        choices = {
            "sides": ("two-sided", "greater", "less"),
            "difference_type": ("relative", "absolute"),
            "test": ("welch_t", "z"),
            "sequential_method": ("cs", "msprt", "group_sequential"),
            "correction": ("holm", "bh", "none"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}")
        if not (math.isfinite(self.sequential_tuning_n) and self.sequential_tuning_n > 0):
            raise ValueError("sequential_tuning_n must be positive")
        if not (math.isfinite(self.msprt_tau) and self.msprt_tau > 0):
            raise ValueError("msprt_tau must be positive")
        # int() of inf or NaN would raise its own error, which names no setting: check finiteness first.
        if not _whole(self.planned_looks) or self.planned_looks < 1:
            raise ValueError("planned_looks must be a positive integer")
        if not _whole(self.min_units_per_arm) or self.min_units_per_arm < 0:
            raise ValueError("min_units_per_arm must be a non-negative integer")
        if not (0.0 < self.srm_threshold < 1.0):
            raise ValueError("srm_threshold must lie strictly between 0 and 1")
        if not (math.isfinite(self.prior_variance) and self.prior_variance > 0):
            raise ValueError("prior_variance must be positive")
        if not math.isfinite(self.prior_mean):
            raise ValueError("prior_mean must be finite")


DEFAULT_CONFIG = StatsConfig()
