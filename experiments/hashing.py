"""Deterministic assignment, bit-for-bit compatible with GrowthBook's SDKs (hash version 2).

A storefront that already evaluates experiments with a GrowthBook SDK (from the config that
`/api/v1/experiments/KEY/config` serves) gets the same variant for a visitor as our assign API.
Pure Python, no Django: the hot path of `GET /api/v1/assign` and of event validation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193
_MASK32 = 0xFFFFFFFF


def fnv1a32(text: str) -> int:
    """FNV-1a (32 bit) over UTF-16 code units, as the JS SDK's `charCodeAt` loop hashes them.

    ASCII strings take the fast path: their UTF-16 code units equal their bytes.
    """
    h = _FNV_OFFSET
    if text.isascii():
        for byte in text.encode():
            h = ((h ^ byte) * _FNV_PRIME) & _MASK32
        return h
    data = text.encode("utf-16-le", "surrogatepass")
    for i in range(0, len(data), 2):
        h = ((h ^ (data[i] | (data[i + 1] << 8))) * _FNV_PRIME) & _MASK32
    return h


def gbhash(seed: str, value: str, version: int = 2) -> float:
    """A number in [0, 1) for (seed, value); version 1 is used only for namespaces."""
    if version == 2:
        return (fnv1a32(str(fnv1a32(seed + value))) % 10000) / 10000
    if version == 1:
        return (fnv1a32(value + seed) % 1000) / 1000
    raise ValueError(f"unknown hash version {version}")


def normalize_weights(weights: Sequence[float]) -> tuple[float, ...]:
    """Weights scaled to sum to 1 (equal weights when they cannot be)."""
    total = float(sum(weights))
    if not weights:
        return ()
    if total <= 0 or any(w < 0 for w in weights):
        return tuple(1 / len(weights) for _ in weights)
    return tuple(float(w) / total for w in weights)


def bucket_ranges(weights: Sequence[float], coverage: float) -> tuple[tuple[float, float], ...]:
    """Each variation's [start, end) slice of the hash space: weight-wide slots, coverage-filled."""
    coverage = min(max(coverage, 0.0), 1.0)
    ranges = []
    cumulative = 0.0
    for weight in normalize_weights(weights):
        start = cumulative
        cumulative += weight
        ranges.append((start, start + coverage * weight))
    return tuple(ranges)


def in_namespace(unit: str, namespace: tuple[str, float, float]) -> bool:
    n = gbhash("__" + namespace[0], unit, 1)
    return namespace[1] <= n < namespace[2]


@dataclass(frozen=True, slots=True)
class Allocation:
    """Everything needed to assign a unit to a variant of one experiment, without a database."""

    key: str
    seed: str
    variant_keys: tuple[str, ...]
    weights: tuple[float, ...]
    coverage: float
    ranges: tuple[tuple[float, float], ...]
    namespace: tuple[str, float, float] | None = None
    active: bool = True
    # Bandit mode: hash values below `holdout` form a fixed slice split evenly between all
    # variations (`holdout_ranges`, in [0, 1) of the slice); the rest follows `ranges` (the
    # adaptive weights), rescaled to the remaining hash space. 0 = GrowthBook's plain ranges.
    holdout: float = 0.0
    holdout_ranges: tuple[tuple[float, float], ...] = ()

    @classmethod
    def build(
        cls,
        *,
        key: str,
        seed: str,
        variant_keys: Sequence[str],
        weights: Sequence[float],
        coverage: float,
        namespace: tuple[str, float, float] | None = None,
        active: bool = True,
        holdout: float = 0.0,
    ) -> Allocation:
        normalized = normalize_weights(weights)
        holdout = min(max(float(holdout or 0.0), 0.0), 1.0)
        return cls(
            key=key,
            seed=seed or key,
            variant_keys=tuple(variant_keys),
            weights=normalized,
            coverage=coverage,
            ranges=bucket_ranges(normalized, coverage),
            namespace=namespace,
            active=active,
            holdout=holdout,
            holdout_ranges=bucket_ranges([1.0] * len(normalized), coverage) if holdout > 0 else (),
        )

    def in_holdout(self, unit: str) -> bool:
        """Whether `unit` falls in the fixed, evenly split slice of a bandit-mode experiment."""
        return self.holdout > 0 and gbhash(self.seed, unit, 2) < self.holdout

    def variation_index(self, unit: str) -> int:
        """The variation's index for `unit`, or -1 when the unit is not in the experiment."""
        if not self.active or len(self.variant_keys) < 2:
            return -1
        if self.namespace is not None and not in_namespace(unit, self.namespace):
            return -1
        n = gbhash(self.seed, unit, 2)
        ranges = self.ranges
        if self.holdout > 0:
            if n < self.holdout:
                n, ranges = n / self.holdout, self.holdout_ranges
            else:
                n = (n - self.holdout) / (1.0 - self.holdout) if self.holdout < 1 else 0.0
        for index, (start, end) in enumerate(ranges):
            if start <= n < end:
                return index
        return -1
