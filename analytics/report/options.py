"""How a report analyses the data: the metrics, the sequential test and the p-value correction."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal, TypeAlias, get_args

from django.conf import settings

from abplatform.errors import FieldErrors
from analytics.selectors import METRICS
from analytics.stats import StatsConfig
from experiments.models import Experiment

ALL_METRICS = tuple(METRICS)
ABSOLUTE_SCALE_METRICS = frozenset({"revenue_per_unit"})
SequentialMethod: TypeAlias = Literal["cs", "msprt", "group_sequential"]
Correction: TypeAlias = Literal["holm", "bh"]
SEQUENTIAL_METHODS: tuple[str, ...] = get_args(SequentialMethod)
CORRECTIONS: tuple[str, ...] = get_args(Correction)
# The unit attributes a report can break its metrics down by (ingest.accept.ATTRIBUTES).
Segment: TypeAlias = Literal["device", "visitor", "source", "country"]
SEGMENTS: tuple[str, ...] = get_args(Segment)
MAX_CUPED_LOOKBACK = 90


CAPPABLE_COLUMNS = ("revenue", "orders", "add_to_carts", "clicks", "impressions")


@dataclass(frozen=True)
class CapRule:
    """Winsorisation of one per-unit total: at a percentile of its non-zero values (all arms pooled), or at an
    absolute value. It applies to every metric that reads the column."""

    column: str
    percentile: float | None = None
    absolute: float | None = None

    def __post_init__(self) -> None:
        if self.column not in CAPPABLE_COLUMNS:
            raise ValueError(f"caps: unknown column {self.column!r} (one of {', '.join(CAPPABLE_COLUMNS)})")
        if (self.percentile is None) == (self.absolute is None):
            raise ValueError(f"caps: {self.column} needs a percentile or an absolute cap")
        if self.percentile is not None and not 0 < self.percentile <= 100:
            raise ValueError(f"caps: {self.column}'s percentile must lie in (0, 100]")
        if self.absolute is not None and not self.absolute > 0:
            raise ValueError(f"caps: {self.column}'s absolute cap must be positive")


def cap_rules_parse(text: str) -> tuple[CapRule, ...]:
    """`orders:p99.5, clicks:40`: per column, `pNN` caps at the NNth percentile, a number at that value."""
    rules: dict[str, CapRule] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        column, _, rule = (piece.strip() for piece in item.partition(":"))
        try:
            value = float(rule[1:] if rule.lower().startswith("p") else rule)
        except ValueError:
            raise ValueError(f"caps: {item!r} is not column:pNN or column:number") from None
        if not math.isfinite(value):
            raise ValueError(f"caps: {item!r} is not finite")
        percentile = rule.lower().startswith("p")
        rules[column] = CapRule(
            column, percentile=value if percentile else None, absolute=None if percentile else value
        )
    return tuple(rules.values())


@dataclass(frozen=True)
class ReportOptions:
    """How the report analyses the data; empty values take the `COPYLIFT_REPORT_*` settings (the
    correction: the experiment's own, see `planned`)."""

    sequential_method: str = ""
    correction: str = ""
    sequential_tuning_n: float = 0.0
    minimum_lift: float = 0.0  # smallest relative lift worth detecting: days left and the no-effect rule
    power: float = 0.8
    revenue_cap_percentile: float = -1.0  # < 0: the setting; 0: no capping
    segment: str = ""  # a unit attribute to break every metric down by; empty: none
    cuped_lookback_days: int = -1  # < 0: the setting; 0: no CUPED
    caps: str | None = None  # None: COPYLIFT_REPORT_CAPS; "column:pNN|number, …" (revenue's overrides the percentile)

    def __post_init__(self) -> None:
        defaults = {
            "sequential_method": settings.COPYLIFT_REPORT_SEQUENTIAL_METHOD,
            "sequential_tuning_n": float(settings.COPYLIFT_REPORT_SEQUENTIAL_TUNING_N),
            "minimum_lift": float(settings.COPYLIFT_REPORT_MINIMUM_LIFT),
        }
        for name, value in defaults.items():
            if not getattr(self, name):
                object.__setattr__(self, name, value)
        if self.revenue_cap_percentile < 0:
            object.__setattr__(self, "revenue_cap_percentile", float(settings.COPYLIFT_REPORT_REVENUE_CAP_PERCENTILE))
        if self.cuped_lookback_days < 0:
            object.__setattr__(self, "cuped_lookback_days", int(settings.COPYLIFT_REPORT_CUPED_LOOKBACK_DAYS))
        if not 0 <= self.cuped_lookback_days <= MAX_CUPED_LOOKBACK:
            raise ValueError(f"cuped_lookback_days must be a whole number of days from 0 (off) to {MAX_CUPED_LOOKBACK}")
        if not 0 <= self.revenue_cap_percentile <= 100:
            raise ValueError("revenue_cap_percentile must lie in [0, 100]")
        if self.caps is None:
            object.__setattr__(self, "caps", settings.COPYLIFT_REPORT_CAPS)
        self.cap_rules  # noqa: B018 - parse now: a bad rule is the caller's error, not the report's
        if self.sequential_method not in SEQUENTIAL_METHODS:
            raise ValueError(f"sequential_method must be one of {', '.join(SEQUENTIAL_METHODS)}")
        if self.correction and self.correction not in CORRECTIONS:
            raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}")
        if self.segment and self.segment not in SEGMENTS:
            raise ValueError(f"segment must be one of {', '.join(SEGMENTS)}")
        if not 0 < self.minimum_lift < 1:
            raise ValueError("minimum_lift must lie strictly between 0 and 1")

    @property
    def cap_rules(self) -> tuple[CapRule, ...]:
        """The caps: revenue at `revenue_cap_percentile` (0: none), then `caps`, whose rules win per column."""
        rules = {}
        if self.revenue_cap_percentile > 0:
            rules["revenue"] = CapRule("revenue", percentile=self.revenue_cap_percentile)
        rules.update({rule.column: rule for rule in cap_rules_parse(self.caps or "")})
        return tuple(rules.values())

    def planned(self, experiment: Experiment) -> ReportOptions:
        """These options with the experiment's pre-registered correction where none was asked for:
        the correction is part of the analysis plan frozen at start (a request may still ask for
        another one, as an extra, recorded reading of the same data)."""
        return self if self.correction else replace(self, correction=self.correction_for(experiment))

    def correction_for(self, experiment: Experiment) -> str:
        return self.correction or experiment.correction or settings.COPYLIFT_REPORT_CORRECTION

    def config(self, experiment: Experiment, *, scale: str = "relative") -> StatsConfig:
        return StatsConfig(
            alpha=experiment.alpha,
            difference_type=scale,  # type: ignore[arg-type]
            sequential_method=self.sequential_method,  # type: ignore[arg-type]
            sequential_tuning_n=self.sequential_tuning_n,
            correction=self.correction_for(experiment),  # type: ignore[arg-type]
        )


def report_options(params: Mapping[str, str]) -> ReportOptions:
    """Options from request parameters (`sequential_method`, `correction`, `segment`, `cuped_lookback_days`);
    bad values raise FieldErrors."""
    lookback = params.get("cuped_lookback_days", "")
    if lookback and not lookback.isdigit():
        reason = f"must be a whole number of days from 0 (off) to {MAX_CUPED_LOOKBACK}"
        raise FieldErrors({"cuped_lookback_days": reason})
    try:
        return ReportOptions(
            sequential_method=params.get("sequential_method", ""),
            correction=params.get("correction", ""),
            segment=params.get("segment", ""),
            cuped_lookback_days=int(lookback) if lookback else -1,
        )
    except ValueError as exc:
        fields = ("correction", "segment", "cuped_lookback_days")
        field = next((f for f in fields if str(exc).startswith(f)), "sequential_method")
        raise FieldErrors({field: str(exc)}) from None
