"""Always-valid (sequential) tests, so that analysts may look at the results every day.

Three methods, chosen by ``StatsConfig.sequential_method``:

* ``"cs"`` (default): the Gaussian-mixture confidence sequence that GrowthBook and Eppo use
  (Howard et al. 2021; Waudby-Smith et al. 2023, eqs. 9, 155, 161 of arXiv:2103.06476v7).
  A normal mixture over the effect with precision tuned so that the sequence is tightest at
  ``sequential_tuning_n`` total units. Same numbers as gbstats' ``SequentialTwoSidedTTest``.
* ``"msprt"``: the mixture sequential probability ratio test of Johari et al. (2017/2022,
  "Always valid inference"), with a N(0, tau^2) mixing distribution over the effect, ``tau``
  in the units of the lift (``msprt_tau``). The likelihood ratio is
  Lambda = sqrt(V / (V + tau^2)) exp(tau^2 (est - 0)^2 / (2 V (V + tau^2))), V = se^2, and the
  always-valid p-value is 1 / Lambda (its running minimum over looks, see
  :func:`sequential_path`). It is the same mixture martingale as the CS with the mixing scale
  fixed on the effect instead of on the sample size, so it adapts differently as traffic grows.
* ``"group_sequential"``: a planned number of looks with Lan-DeMets O'Brien-Fleming-type alpha
  spending (:mod:`analytics.stats.group_sequential`); interval = repeated confidence interval,
  p-value = repeated p-value, and the design ends at the last planned look.

All three are two-sided, use the normal approximation for the lift (they are asymptotically
valid: fine at the daily traffic of a storefront, not for a handful of units), and return an
interval, a p-value and a stop / keep-going decision.

Both mixture methods reduce to one kernel in terms of r = V_0 / V (the ratio of the mixing
variance to the estimate's variance): with z = est / se,
    p = min(1, sqrt(1 + r) exp(-r z^2 / (2 (1 + r))))
    half-width = se * sqrt(2 (1 + r) / r * log(sqrt(1 + r) / alpha)).
For the CS r = N rho^2 with rho^2 = (-2 log alpha + log(1 - 2 log alpha)) / N_tuning; for the
mSPRT r = tau^2 / se^2.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, TypeAlias

import numpy as np

from analytics.stats import group_sequential as gs
from analytics.stats.config import DEFAULT_CONFIG, StatsConfig
from analytics.stats.frequentist import arm_lift_moments
from analytics.stats.results import ResultMixin, finite_or_none
from analytics.stats.statistics import ArrayLike, FloatArray, Statistic

Decision: TypeAlias = Literal["stop_increase", "stop_decrease", "continue", "stop_no_effect"]


def cs_rho_squared(alpha: float, tuning_n: float) -> float:
    """Mixing precision that makes the confidence sequence tightest at ``tuning_n`` units."""
    log_term = -2.0 * math.log(alpha)
    return (log_term + math.log(log_term + 1.0)) / tuning_n


def mixture_p_value(z: ArrayLike, r: ArrayLike) -> FloatArray:
    """Always-valid p-value 1 / Lambda of the normal-mixture martingale (computed in logs)."""
    z = np.asarray(z, dtype=float)
    r = np.asarray(r, dtype=float)
    log_p = 0.5 * np.log1p(r) - r * z * z / (2.0 * (1.0 + r))
    return np.exp(np.minimum(log_p, 0.0))


def mixture_critical_z(r: ArrayLike, alpha: float) -> FloatArray:
    """|z| above which the mixture test rejects: the CS half-width in standard errors."""
    r = np.asarray(r, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(2.0 * (1.0 + r) / r * (0.5 * np.log1p(r) - math.log(alpha)))


def mixture_r(
    method: Literal["cs", "msprt"],
    *,
    n_total: ArrayLike,
    std_error: ArrayLike,
    config: StatsConfig,
    baseline_mean: ArrayLike = 1.0,
) -> FloatArray:
    """The mixing-to-sampling variance ratio r for either mixture method.

    ``msprt_tau`` is a relative effect; for absolute lifts it is scaled by the control mean
    (``baseline_mean``) so that one setting means the same thing for CTR and for revenue.
    """
    if method == "cs":
        return np.asarray(n_total, dtype=float) * cs_rho_squared(config.alpha, config.sequential_tuning_n)
    tau = config.msprt_tau
    if config.difference_type == "absolute":
        tau = tau * np.abs(np.asarray(baseline_mean, dtype=float))
    with np.errstate(divide="ignore"):
        return tau**2 / np.asarray(std_error, dtype=float) ** 2


@dataclass(frozen=True)
class SequentialResult(ResultMixin):
    """One sequential look. ``critical_z`` is the |z| the test needed at this look."""

    method: str
    alpha: float
    difference_type: str
    estimate: float | None = None
    std_error: float | None = None
    ci_lower: float | None = None
    ci_upper: float | None = None
    p_value: float | None = None
    z: float | None = None
    critical_z: float | None = None
    decision: Decision | None = None
    look: int | None = None
    planned_looks: int | None = None
    information_fraction: float | None = None
    warning: str | None = None
    error: str | None = None


def _decision(significant: bool, estimate: float) -> Decision:
    if not significant:
        return "continue"
    return "stop_increase" if estimate > 0 else "stop_decrease"


def _burn_in_warning(control: Statistic, treatment: Statistic, config: StatsConfig) -> str | None:
    if min(control.n, treatment.n) < config.min_units_per_arm:
        return (
            f"fewer than {config.min_units_per_arm} units in an arm: too early to stop "
            "(the normal approximation is not yet reliable)"
        )
    return None


def _lift(control: Statistic, treatment: Statistic, config: StatsConfig) -> tuple[float, float] | str:
    moments = arm_lift_moments(control, treatment, relative=config.difference_type == "relative")
    if isinstance(moments, str):
        return moments
    estimate, variance = moments
    est, se = finite_or_none(estimate), finite_or_none(np.sqrt(variance))
    if est is None or se is None or se <= 0:
        return "numerical overflow in the lift computation"
    return est, se


def mixture_test(
    control: Statistic,
    treatment: Statistic,
    config: StatsConfig = DEFAULT_CONFIG,
    *,
    method: Literal["cs", "msprt"] = "cs",
    lift: tuple[float, float] | None = None,
) -> SequentialResult:
    """Gaussian-mixture confidence sequence (``"cs"``) or mSPRT (``"msprt"``) at the current look.

    ``lift``: a precomputed (estimate, std_error) on ``config``'s scale, e.g. CUPED-adjusted
    (:func:`analytics.stats.cuped.regression_adjusted_sequential_test`); the statistics then only
    supply the unit counts and the control mean.
    """
    lift = _lift(control, treatment, config) if lift is None else lift
    if isinstance(lift, str):
        return SequentialResult(method=method, alpha=config.alpha, difference_type=config.difference_type, error=lift)
    estimate, se = lift
    r = mixture_r(method, n_total=control.n + treatment.n, std_error=se, config=config, baseline_mean=control.mean)
    z = estimate / se
    critical = float(mixture_critical_z(r, config.alpha))
    p_value = float(mixture_p_value(z, r))
    warning = _burn_in_warning(control, treatment, config)
    return SequentialResult(
        method=method,
        alpha=config.alpha,
        difference_type=config.difference_type,
        estimate=estimate,
        std_error=se,
        ci_lower=finite_or_none(estimate - critical * se),
        ci_upper=finite_or_none(estimate + critical * se),
        p_value=p_value,
        z=finite_or_none(z),
        critical_z=finite_or_none(critical),
        # Decide on the p-value so that decision and p-value can never disagree; the CI
        # excludes 0 exactly when p < alpha (the two are dual).
        decision=_decision(p_value < config.alpha and warning is None, estimate),
        warning=warning,
    )


def confidence_sequence_test(
    control: Statistic, treatment: Statistic, config: StatsConfig = DEFAULT_CONFIG
) -> SequentialResult:
    """Gaussian-mixture confidence sequence (GrowthBook/Eppo); see the module docstring."""
    return mixture_test(control, treatment, config, method="cs")


def msprt_test(control: Statistic, treatment: Statistic, config: StatsConfig = DEFAULT_CONFIG) -> SequentialResult:
    """mSPRT p-value at the current look; use :func:`sequential_path` for the running minimum."""
    return mixture_test(control, treatment, config, method="msprt")


MAX_LOOKS = 10_000


def equal_information_fractions(look: int, planned_looks: int) -> list[float]:
    """Information fractions k / K of looks 1..look of an equally spaced design."""
    return [k / planned_looks for k in range(1, look + 1)]


def group_sequential_test(
    control: Statistic,
    treatment: Statistic,
    config: StatsConfig = DEFAULT_CONFIG,
    *,
    information_fractions: Sequence[float] | None = None,
    look: int | None = None,
    final_look: bool = False,
    lift: tuple[float, float] | None = None,
) -> SequentialResult:
    """Lan-DeMets O'Brien-Fleming group-sequential test at the current (last) look.

    ``information_fractions``: the fractions of the planned sample at every look so far, the
    current one last (e.g. units so far / planned units). Without it, ``look`` (1-based) is
    taken as look ``look`` of ``config.planned_looks`` equally spaced looks. ``final_look``:
    this look ends the design and spends all alpha left (see
    :func:`~analytics.stats.observed_sequential.observed_group_sequential_path`). ``lift``: as in :func:`mixture_test`.
    """
    base = SequentialResult(
        method="group_sequential",
        alpha=config.alpha,
        difference_type=config.difference_type,
        planned_looks=config.planned_looks,
    )
    if information_fractions is None:
        if look is None:
            return replace(base, error="group-sequential test needs the look number or the information fractions")
        if isinstance(look, bool) or not isinstance(look, int) or look < 1:
            return replace(base, error="look must be a positive integer")
        if look > MAX_LOOKS:
            # Daily looks for 27 years; a larger number is garbage, and the fractions list would be huge.
            return replace(base, error=f"look must be at most {MAX_LOOKS}")
        information_fractions = equal_information_fractions(look, config.planned_looks)
    fractions = [float(t) for t in information_fractions]
    if not fractions or any(not math.isfinite(t) or t <= 0 for t in fractions):
        return replace(base, error="information fractions must be positive numbers")
    if any(b <= a for a, b in itertools.pairwise(fractions)):
        return replace(base, error="information fractions must be strictly increasing")
    base = replace(base, look=len(fractions), information_fraction=fractions[-1])
    lift = _lift(control, treatment, config) if lift is None else lift
    if isinstance(lift, str):
        return replace(base, error=lift)
    estimate, se = lift
    z = estimate / se
    critical = float(gs.group_sequential_boundaries(fractions, config.alpha, final_look=final_look)[-1])
    p_value = gs.repeated_p_value(z, fractions, final_look=final_look)
    warning = _burn_in_warning(control, treatment, config)
    crossed = abs(z) >= critical and warning is None
    decision: Decision = _decision(crossed, estimate)
    # With no crossing at the final planned look the design is over: stop, no effect shown.
    if not crossed and (final_look or fractions[-1] >= 1.0 - 1e-9):
        decision = "stop_no_effect"
    return replace(
        base,
        estimate=estimate,
        std_error=se,
        # An overrun beyond the planned information has no alpha left: the interval is unbounded.
        ci_lower=finite_or_none(estimate - critical * se),
        ci_upper=finite_or_none(estimate + critical * se),
        p_value=p_value,
        z=finite_or_none(z),
        critical_z=finite_or_none(critical),
        decision=decision,
        warning=warning,
    )


def sequential_test(
    control: Statistic,
    treatment: Statistic,
    config: StatsConfig = DEFAULT_CONFIG,
    *,
    information_fractions: Sequence[float] | None = None,
    look: int | None = None,
    lift: tuple[float, float] | None = None,
) -> SequentialResult:
    """The sequential test that ``config.sequential_method`` selects, at the current look.

    ``lift``: a precomputed (estimate, std_error), as in :func:`mixture_test`.
    """
    if config.sequential_method == "group_sequential":
        return group_sequential_test(
            control, treatment, config, information_fractions=information_fractions, look=look, lift=lift
        )
    return mixture_test(control, treatment, config, method=config.sequential_method, lift=lift)


@dataclass
class PathSoFar:
    """The looks of a sequential path so far, as an analyst who checks every day reads them: the
    p-value of a look is the running minimum over the looks whose p-value counts (the always-valid
    p-value of the path), and once a look says stop, every later look keeps that decision."""

    results: list[SequentialResult] = field(default_factory=list)
    best_p: float | None = None
    stopped: SequentialResult | None = None

    def add(self, result: SequentialResult, *, p_counts: bool) -> None:
        if result.p_value is not None and p_counts:
            self.best_p = result.p_value if self.best_p is None else min(self.best_p, result.p_value)
            result = replace(result, p_value=self.best_p)
        if self.stopped is not None and self.stopped.decision is not None:
            result = replace(result, decision=self.stopped.decision)
        elif result.decision is not None and result.decision != "continue":
            self.stopped = result
        self.results.append(result)


def sequential_path(
    looks: Sequence[tuple[Statistic, Statistic]],
    config: StatsConfig = DEFAULT_CONFIG,
    *,
    information_fractions: Sequence[float] | None = None,
    final_lift: tuple[float, float] | None = None,
) -> list[SequentialResult]:
    """Results for a history of cumulative looks (e.g. one per day), oldest first.

    ``final_lift``: the last look's (estimate, std_error), e.g. CUPED-adjusted, where the earlier
    looks have only their unadjusted statistics (as ``lift`` of :func:`sequential_test`).

    The p-value reported at each look is the running minimum over the looks so far (the
    always-valid p-value of the whole path) from the first look past the burn-in
    (``min_units_per_arm``) on, and once a look says stop the decision stays stopped: that is
    how an analyst who checks every day actually uses the test. Intervals are each look's own
    (each is valid on its own by construction).
    """
    if information_fractions is not None and len(information_fractions) != len(looks):
        reason = f"need one information fraction per look ({len(looks)} looks, {len(information_fractions)} fractions)"
        return [
            SequentialResult(
                method=config.sequential_method,
                alpha=config.alpha,
                difference_type=config.difference_type,
                look=index + 1,
                error=reason,
            )
            for index in range(len(looks))
        ]
    path = PathSoFar()
    for index, (control, treatment) in enumerate(looks):
        lift = final_lift if index == len(looks) - 1 else None
        if config.sequential_method == "group_sequential":
            fractions = (
                [float(t) for t in information_fractions[: index + 1]]
                if information_fractions is not None
                else equal_information_fractions(index + 1, config.planned_looks)
            )
            result = group_sequential_test(control, treatment, config, information_fractions=fractions, lift=lift)
        else:
            result = replace(sequential_test(control, treatment, config, lift=lift), look=index + 1)
        path.add(result, p_counts=result.warning is None)
    return path.results
