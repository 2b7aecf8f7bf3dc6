"""Adaptive λ (bandit mode): Thompson weights, the holdout slice, versions, ingestion by version, report."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.allocation import allocation_reweight, allocations_reweight_running
from analytics.services import report_build
from analytics.stats.bandit import ArmCounts, apply_floor, thompson_weights
from experiments.assignment import experiment_snapshot, snapshot_cache_clear
from experiments.hashing import Allocation
from ingest.accept import event_validate
from ingest.models import UnitTotals
from tests.analytics.factories import Truth, traffic


def test_thompson_weights_keep_control_share_and_floor_and_are_seeded():
    arms = [
        ArmCounts("control", 5000, 200),
        ArmCounts("a", 5000, 200),
        ArmCounts("b", 5000, 300),
        ArmCounts("c", 5000, 150),
    ]
    first = thompson_weights(arms=arms, control="control", control_share=0.25, floor=0.05, seed=3)
    assert first == thompson_weights(arms=arms, control="control", control_share=0.25, floor=0.05, seed=3)
    w = first.weights
    assert w["control"] == 0.25 and sum(w.values()) == pytest.approx(1.0)
    assert w["b"] > 0.6 and min(w["a"], w["c"]) == pytest.approx(0.05)
    assert first.prob_best["b"] > 0.99
    assert apply_floor({"x": 0.0, "y": 0.0}, total=0.5, floor=0.4) == {"x": 0.25, "y": 0.25}


def test_holdout_slice_is_even_and_stable_across_versions():
    keys = ("control", "a", "b", "c")
    v1 = Allocation.build(key="e", seed="e", variant_keys=keys, weights=[1, 1, 1, 1], coverage=1.0, holdout=0.2)
    v2 = Allocation.build(
        key="e", seed="e", variant_keys=keys, weights=[0.25, 0.05, 0.65, 0.05], coverage=1.0, holdout=0.2
    )
    units = [f"u{i}" for i in range(20000)]
    held = [u for u in units if v1.in_holdout(u)]
    assert len(held) / len(units) == pytest.approx(0.2, abs=0.01)
    assert all(v1.variation_index(u) == v2.variation_index(u) for u in held)  # the holdout never moves
    counts = [sum(v2.variation_index(u) == i for u in held) for i in range(4)]
    assert max(counts) / min(counts) < 1.15
    outside = [v2.variation_index(u) for u in units if not v2.in_holdout(u)]
    assert outside.count(2) / len(outside) == pytest.approx(0.65, abs=0.02)
    assert all(v2.variation_index(u) == v2.variation_index(u) for u in units[:100])  # deterministic


@pytest.fixture
def bandit(make_experiment):
    experiment = make_experiment(
        "bandit-copy", started_ago=timedelta(days=3), allocation_mode="bandit", primary_metric="cvr"
    )
    experiment.allocation_versions.update(effective_from=experiment.started_at)
    snapshot_cache_clear()
    return experiment


@pytest.mark.django_db
def test_reweighting_is_at_most_daily_and_events_follow_the_version_of_their_time(bandit):
    assert list(bandit.allocation_versions.values_list("version", flat=True)) == [1]
    traffic(bandit, units=1200, days=2, truths={"llm-l060": Truth(ctr=0.2, cvr=0.12)}, start=bandit.started_at)
    now = timezone.now()
    v2 = allocation_reweight(experiment=bandit, now=now)
    assert v2 is not None and v2.version == 2 and v2.counts["llm-l060"]["impressions"] > 0
    assert v2.weights["llm-l060"] > v2.weights["llm-l040"] >= bandit.bandit_floor - 1e-9
    assert allocation_reweight(experiment=bandit, now=now + timedelta(hours=2)) is None  # not yet a day
    assert allocations_reweight_running(now=now + timedelta(hours=2)) == {}
    snapshot_cache_clear()
    snapshot = experiment_snapshot(bandit.key)
    assert len(snapshot.history) == 2
    # A unit outside the holdout whose variant differs between the versions: an event stamped
    # before the re-weighting is validated against version 1, one after it against version 2.
    old, new = snapshot.history[0][1], snapshot.history[1][1]
    unit = next(u for u in (f"m{i}" for i in range(5000)) if old.variation_index(u) != new.variation_index(u))
    for at, allocation in ((now - timedelta(hours=1), old), (now + timedelta(seconds=1), new)):
        event = {"event_id": f"e-{at.timestamp()}", "type": "impression", "experiment": bandit.key, "unit": unit}
        event |= {"ts": at.isoformat(), "variant": allocation.variant_keys[allocation.variation_index(unit)]}
        _row, _, errors = event_validate(event, now=now + timedelta(seconds=2))
        assert not errors, errors


@pytest.mark.django_db
def test_bandit_report_analyses_the_holdout_slice_and_states_the_history(bandit, analyst):
    traffic(bandit, units=1500, days=2, start=bandit.started_at)
    allocation_reweight(experiment=bandit, now=timezone.now())
    report = report_build(experiment=bandit, backfill="never")
    allocation = report.allocation
    assert allocation.mode == "bandit" and allocation.method == "holdout_slice"
    assert [h["version"] for h in allocation.history] == [1, 2]
    everyone = UnitTotals.objects.filter(experiment=bandit).values("unit").distinct().count()
    assert 0.1 * everyone < report.units < 0.3 * everyone  # the analysed units are the ~20 % holdout slice
    assert set(report.srm.expected.values()) == {report.units / 3}  # even split expected
    from django.test import Client

    client = Client()
    client.force_login(analyst)
    page = client.get(f"/reports/{bandit.key}/").content.decode()
    assert "Adaptive λ allocation" in page and "fixed slice split evenly" in page


@pytest.mark.django_db
def test_bandit_report_has_daily_looks_of_the_holdout_slice(bandit):
    from analytics.snapshots import snapshot_take

    start = bandit.started_at
    traffic(bandit, units=900, days=1, start=start, seed=1)
    first = snapshot_take(experiment=bandit, now=start + timedelta(days=1, minutes=-5))
    traffic(bandit, units=900, days=1, start=start + timedelta(days=1), seed=2)
    type(bandit).objects.filter(pk=bandit.pk).update(started_at=start)  # traffic() moved it to day 2
    second = snapshot_take(experiment=bandit, now=start + timedelta(days=2, minutes=-5))
    assert first.holdout_variants is not None and second.holdout_variants is not None
    held = sum(v["units"] for v in first.holdout_variants.values())
    everyone = sum(v["units"] for v in first.variants.values())
    assert 0.1 * everyone < held < 0.3 * everyone  # the slice, not all traffic

    report = report_build(experiment=bandit, backfill="never")
    looks = report.timeseries
    assert [look.source for look in looks][:2] == ["totals", "totals"] and len(looks) >= 2
    slice_units = [sum(look.units.values()) for look in looks]
    assert slice_units[0] == held and slice_units[0] < slice_units[1] == sum(
        v["units"] for v in second.holdout_variants.values()
    )
    assert report.units == slice_units[-1]  # the live look is the slice today
    assert report.snapshots.count == 2

    # Rebuilding the daily looks from the raw events keeps the slice statistics of those days.
    from analytics.models import ReportSnapshot
    from analytics.snapshots import snapshot_backfill

    snapshot_backfill(experiment=bandit, replace=True)
    rebuilt = ReportSnapshot.objects.get(experiment=bandit, day=first.day)
    assert rebuilt.source == "events" and rebuilt.holdout_variants == first.holdout_variants


@pytest.mark.django_db
def test_fixed_allocation_snapshots_store_no_slice(make_experiment):
    from analytics.snapshots import snapshot_take

    experiment = make_experiment("fixed-copy", start=True)
    traffic(experiment, units=300, days=1)
    assert snapshot_take(experiment=experiment).holdout_variants is None
