"""Our assignment must equal GrowthBook's SDK bit for bit, non-ASCII units included.

5 settings × 2,000 units = 10,000 assignments compared with the `growthbook` package."""

from __future__ import annotations

import random

import pytest
from growthbook import Experiment as GBExperiment
from growthbook import GrowthBook

from experiments.hashing import Allocation, bucket_ranges, fnv1a32, gbhash

SETTINGS = [
    {"weights": [1, 1], "coverage": 1.0, "namespace": None},
    {"weights": [1, 1, 1, 1], "coverage": 1.0, "namespace": None},
    {"weights": [0.5, 0.2, 0.3], "coverage": 0.6, "namespace": None},
    {"weights": [3, 1], "coverage": 0.35, "namespace": ("pdp-copy", 0.25, 0.75)},
    {"weights": [1, 2, 2], "coverage": 1.0, "namespace": ("checkout", 0.0, 0.5)},
]


def _units(count: int) -> list[str]:
    rng = random.Random(2505)
    alphabets = ["abcdef0123456789", "äöüßéèçñ", "漢字かなカナ", "😀🛒🎧", "-_.:@ "]
    units = []
    for i in range(count):
        if i % 5 == 0:
            chars = "".join(rng.choice(rng.choice(alphabets)) for _ in range(rng.randint(1, 24)))
            units.append(chars)
        else:
            units.append(f"visitor-{rng.getrandbits(48):x}")
    return units


def test_fnv1a32_known_values():
    # FNV-1a 32 test vectors: the empty string is the offset basis; "a" and "foobar" are standard.
    assert fnv1a32("") == 0x811C9DC5
    assert fnv1a32("a") == 0xE40C292C
    assert fnv1a32("foobar") == 0xBF9CF968


def test_bucket_ranges_fill_coverage_per_slot():
    assert bucket_ranges([1, 1], 0.5) == ((0.0, 0.25), (0.5, 0.75))
    assert bucket_ranges([], 1.0) == ()


@pytest.mark.parametrize(
    "setting", SETTINGS, ids=lambda s: f"w{s['weights']}-c{s['coverage']}-ns{bool(s['namespace'])}"
)
def test_assignment_agrees_with_growthbook_sdk(setting):
    units = _units(2000)
    keys = [f"v{i}" for i in range(len(setting["weights"]))]
    allocation = Allocation.build(
        key="pdp-headline",
        seed="seed-42",
        variant_keys=keys,
        weights=setting["weights"],
        coverage=setting["coverage"],
        namespace=setting["namespace"],
    )
    gb_experiment = GBExperiment(
        key="pdp-headline",
        variations=list(range(len(keys))),
        weights=list(allocation.weights),
        coverage=setting["coverage"],
        namespace=setting["namespace"],
        hashVersion=2,
        seed="seed-42",
    )
    disagreements = []
    included = 0
    for unit in units:
        result = GrowthBook(attributes={"id": unit}).run(gb_experiment)
        expected = result.variationId if result.inExperiment else -1
        ours = allocation.variation_index(unit)
        included += ours >= 0
        if ours != expected:
            disagreements.append((unit, ours, expected))
    assert disagreements == []
    # The comparison is meaningful only if both branches (in and out of the test) occur.
    assert 0 < included < len(units) or (setting["coverage"] == 1.0 and setting["namespace"] is None)


def test_inactive_or_single_variant_assigns_nobody():
    stopped = Allocation.build(key="k", seed="", variant_keys=["a", "b"], weights=[1, 1], coverage=1, active=False)
    single = Allocation.build(key="k", seed="", variant_keys=["a"], weights=[1], coverage=1)
    assert stopped.variation_index("u1") == -1
    assert single.variation_index("u1") == -1
    assert stopped.seed == "k"  # empty seed falls back to the key


def test_gbhash_versions_differ_and_reject_unknown():
    assert 0 <= gbhash("s", "u", 1) < 1
    assert gbhash("s", "u", 1) != gbhash("s", "u", 2)
    with pytest.raises(ValueError):
        gbhash("s", "u", 3)
