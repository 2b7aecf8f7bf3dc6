"""Property tests: the event validator and the statistics engine's inputs.

No input crashes them, and every refusal names what was wrong: the validator's errors are keyed
by the event's field, the statistics' reasons name the offending field, arm or setting.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.stats import (
    ProportionStatistic,
    RatioStatistic,
    SampleMeanStatistic,
    StatsConfig,
    analyze_metric,
    sample_size,
    srm_test,
)
from analytics.stats.statistics import statistic_problem
from experiments.assignment import ExperimentSnapshot, ProductCopies
from experiments.hashing import Allocation
from experiments.models import UNIT_MAX_LENGTH, Experiment
from ingest.accept import EVENT_ID_MAX_LENGTH, EVENT_TYPES, event_validate

PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
STARTED = NOW - timedelta(days=3)
EVENT_FIELDS = {"event_id", "type", "experiment", "unit", "ts", "revenue", "variant"}

# --- the event validator ------------------------------------------------------------------


def _snapshot(key: str, status: str, *, coverage: float, experiment_id: int) -> ExperimentSnapshot:
    """Experiment `key`, arms control and b, one product; live (started three days ago) if running."""
    running = status == Experiment.Status.RUNNING
    return ExperimentSnapshot(
        allocation=Allocation.build(
            key=key, seed=key, variant_keys=["control", "b"], weights=[1, 1], coverage=coverage, active=running
        ),
        products={"SKU-1": ProductCopies(product_id=5, price=20.0, copies=("c", "b"))},
        control_index=0,
        started_at_ts=STARTED.timestamp() if running else None,
        status=status,
        experiment_id=experiment_id,
        variant_ids=(10 * experiment_id, 10 * experiment_id + 1),
    )


_SNAPSHOTS = {
    "live": _snapshot("live", Experiment.Status.RUNNING, coverage=0.8, experiment_id=7),
    "draft": _snapshot("draft", Experiment.Status.DRAFT, coverage=1.0, experiment_id=8),
}


def _scalars(int_bound: int, text_size: int):
    """None, booleans, integers within ±int_bound, any float (NaN and infinities too), short text."""
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-int_bound, max_value=int_bound),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=text_size),
    )


json_scalars = _scalars(2**70, 20)
json_values = st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
)
# Text with the characters that break storage rather than validation: NUL and lone surrogates.
nasty_text = st.text(
    alphabet=st.one_of(st.characters(codec=None), st.sampled_from(["\x00", "\ud800", "\udfff", "<", "&"])),
    max_size=140,
)
timestamps = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat()),  # no time zone
    st.builds(lambda s: (NOW - timedelta(seconds=s)).isoformat(), st.integers(-3_600, 10 * 86_400)),
    st.sampled_from(["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2026-13-01T00:00Z", "", "now"]),
    json_values,
)


def _field(valid, *invalid):
    return st.one_of(valid, *invalid, json_values)


events = st.fixed_dictionaries(
    {},
    optional={
        "event_id": _field(st.text(min_size=1, max_size=EVENT_ID_MAX_LENGTH), nasty_text),
        "type": _field(st.sampled_from(list(EVENT_TYPES)), st.text(max_size=12)),
        "experiment": _field(st.sampled_from(["live", "draft", "gone"]), nasty_text),
        "unit": _field(st.text(min_size=1, max_size=UNIT_MAX_LENGTH), nasty_text),
        "ts": timestamps,
        "revenue": _field(st.floats(min_value=0, max_value=1e9), st.floats(), st.integers()),
        "variant": _field(st.sampled_from(["control", "b", "z"])),
    },
)


@settings(PROPERTY_SETTINGS, max_examples=1_000)
@given(event=st.one_of(events, json_values))
def test_event_validator_never_crashes_and_names_the_field(event):
    row, _experiment_id, errors = event_validate(event, now=NOW, snapshot_for=_SNAPSHOTS.get)
    assert (row is None) == bool(errors)
    if not isinstance(event, dict):
        assert set(errors) == {"event"}
        return
    assert set(errors) <= EVENT_FIELDS, errors  # every refusal is keyed by the event's own field
    assert all(isinstance(message, str) and message for message in errors.values())
    json.dumps(errors)  # goes back to the storefront as JSON
    for name in ("event_id", "type", "experiment", "unit", "ts"):
        if name not in event:
            assert name in errors, f"missing {name} not reported: {errors}"
    if row is None:
        return
    # An accepted event is one the worker can store: no later surprise fails its whole batch.
    experiment_id, variant_id, event_id, event_type, unit, ts_iso, revenue = row
    snapshot = _SNAPSHOTS["live"]
    assert experiment_id == snapshot.experiment_id and variant_id in snapshot.variant_ids
    for text, limit in ((event_id, EVENT_ID_MAX_LENGTH), (unit, UNIT_MAX_LENGTH)):
        assert 0 < len(text) <= limit and "\x00" not in text
        text.encode("utf-8")  # no lone surrogates
    assert event_type in EVENT_TYPES.values()
    ts = datetime.fromisoformat(ts_iso)
    assert STARTED <= ts <= NOW + timedelta(minutes=5)
    assert revenue is None or (math.isfinite(revenue) and revenue >= 0 and event_type == EVENT_TYPES["order"])


@PROPERTY_SETTINGS
@given(
    unit=nasty_text.filter(bool),
    event_id=nasty_text.filter(bool),
)
def test_unstorable_strings_are_refused_by_name(unit, event_id):
    event = {"event_id": event_id, "type": "click", "experiment": "live", "unit": unit, "ts": NOW.isoformat()}
    _, _, errors = event_validate(event, now=NOW, snapshot_for=_SNAPSHOTS.get)
    for name, value in (("unit", unit), ("event_id", event_id)):
        if "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value):
            assert name in errors


# --- the statistics engine's inputs ---------------------------------------------------------

anything = st.one_of(_scalars(2**80, 4), st.just([1, 2]))
real_numbers = st.one_of(
    st.integers(min_value=0, max_value=10**7),
    st.floats(min_value=-1e300, max_value=1e300, allow_nan=False),
    st.floats(allow_nan=True, allow_infinity=True),
)
numbers = st.one_of(real_numbers, anything)
# What a refusal may name: the statistic's fields and the parts of a ratio they belong to.
STAT_FIELD_WORDS = (
    "n ",
    "sum",
    "sum_squares",
    "m_sum",
    "d_sum",
    "cross sum",
    "numerator",
    "denominator",
    "metric",
    "proportion",
)


@st.composite
def statistics(draw):
    kind = draw(st.sampled_from(["mean", "proportion", "ratio"]))
    n = draw(st.one_of(st.integers(min_value=0, max_value=10**6), anything))
    if kind == "mean":
        return SampleMeanStatistic(n=n, sum=draw(numbers), sum_squares=draw(numbers))
    if kind == "proportion":
        return ProportionStatistic(n=n, sum=draw(numbers))
    return RatioStatistic(n, *(draw(numbers) for _ in range(5)))


@PROPERTY_SETTINGS
@given(stat=statistics())
def test_statistic_problem_never_crashes_and_names_the_field(stat):
    reason = stat.problem()
    if reason is not None:
        assert any(word in reason + " " for word in STAT_FIELD_WORDS), reason
    arm_reason = statistic_problem(stat, "arm-b")
    assert arm_reason is None or "arm-b" in arm_reason


def _finite_everywhere(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite_everywhere(v) for v in value.values())
    if isinstance(value, list | tuple):
        return all(_finite_everywhere(v) for v in value)
    return True


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    control=statistics(),
    treatments=st.dictionaries(st.sampled_from(["b", "c"]), statistics(), max_size=2),
    method=st.sampled_from(["cs", "msprt", "group_sequential"]),
    look=st.one_of(st.none(), anything),
)
def test_analysis_of_garbage_statistics_never_crashes(control, treatments, method, look):
    config = StatsConfig(sequential_method=method, min_units_per_arm=0)
    try:
        result = analyze_metric(control, treatments, control_name="a", config=config, look=look)
    except (TypeError, ValueError) as exc:  # only a bad *setting* may raise, and must say which
        assert "look" in str(exc) or "information" in str(exc), exc
        return
    payload = result.to_dict()
    json.dumps(payload, allow_nan=False)
    assert _finite_everywhere(payload)
    for comparison in result.comparisons:
        error = comparison.fixed.error
        if error and "invalid statistic" in error:
            # The arm is named by its role in the comparison (control or treatment).
            assert error.startswith(("control:", "treatment:")), error


@PROPERTY_SETTINGS
@given(
    units=st.lists(st.one_of(st.integers(min_value=0, max_value=10**9), anything), max_size=5),
    weights=st.lists(st.one_of(st.floats(min_value=0, max_value=1e308), anything), max_size=5),
)
def test_srm_never_crashes_and_names_the_bad_input(units, weights):
    result = srm_test(units, weights)
    json.dumps(result.to_dict(), allow_nan=False)
    if result.p_value is None and result.reason:
        assert any(word in result.reason for word in ("unit", "weight", "variant", "length")), result.reason


@PROPERTY_SETTINGS
@given(
    baseline_mean=real_numbers,
    baseline_variance=real_numbers,
    relative_lift=real_numbers,
    power=st.one_of(st.floats(min_value=0.01, max_value=0.99), st.floats()),
    daily_units=st.one_of(st.none(), real_numbers),
)
def test_sample_size_never_crashes_and_names_the_bad_input(
    baseline_mean, baseline_variance, relative_lift, power, daily_units
):
    result = sample_size(
        baseline_mean=baseline_mean,
        baseline_variance=baseline_variance,
        relative_lift=relative_lift,
        power=power,
        daily_units=daily_units,
    )
    json.dumps(result.to_dict(), allow_nan=False)
    if result.error:
        words = ("baseline", "lift", "power", "daily units", "traffic", "method")
        assert any(word in result.error for word in words), result.error


CONFIG_FIELDS = {
    "alpha": st.one_of(st.floats(), st.integers()),
    "sides": st.one_of(st.sampled_from(["two-sided", "greater", "less"]), st.text(max_size=5)),
    "difference_type": st.one_of(st.sampled_from(["relative", "absolute"]), st.text(max_size=5)),
    "test": st.one_of(st.sampled_from(["welch_t", "z"]), st.text(max_size=5)),
    "sequential_method": st.one_of(st.sampled_from(["cs", "msprt", "group_sequential"]), st.text(max_size=5)),
    "sequential_tuning_n": st.floats(),
    "msprt_tau": st.floats(),
    "planned_looks": st.one_of(st.integers(-3, 100), st.floats()),
    "min_units_per_arm": st.one_of(st.integers(-3, 10_000), st.floats()),
    "correction": st.one_of(st.sampled_from(["holm", "bh", "none"]), st.text(max_size=5)),
    "srm_threshold": st.floats(),
    "prior_mean": st.floats(),
    "prior_variance": st.floats(),
}


@PROPERTY_SETTINGS
@given(kwargs=st.fixed_dictionaries({}, optional=CONFIG_FIELDS))
def test_stats_config_refusals_name_the_setting(kwargs):
    try:
        StatsConfig(**kwargs)
    except ValueError as exc:
        assert any(str(exc).startswith(name) for name in kwargs), (exc, kwargs)
    except (TypeError, OverflowError) as exc:  # e.g. int(nan): still must not pass silently
        pytest.fail(f"StatsConfig({kwargs}) raised {type(exc).__name__}: {exc}")
