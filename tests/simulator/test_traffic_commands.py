"""simulate_traffic (over real HTTP) and import_events (JSON lines backfill)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.utils import timezone

from ingest.models import Event, UnitTotals


@pytest.fixture
def started(make_experiment):
    return make_experiment(started_ago=timedelta(days=10))


def _simulate_week(experiment, url: str, key: str, **streams) -> None:
    """A week of 3,000 units at seed 3: control at 5% CTR / 2% CVR, llm-l060 at 20% / 10%."""
    call_command(
        "simulate_traffic",
        *("--experiment", experiment.key, "--units", "3000", "--days", "7", "--seed", "3"),
        *("--ctr", "control=0.05,llm-l060=0.2", "--cvr", "control=0.02,llm-l060=0.1"),
        *("--url", url, "--write-key", key),
        **streams,
    )


@pytest.mark.django_db(transaction=True)
def test_simulate_traffic_posts_over_http_with_the_true_rates(started, write_key, live_server):
    out, err = StringIO(), StringIO()
    _simulate_week(started, live_server.url, write_key[1], stdout=out, stderr=err)
    assert "0 rejected" in out.getvalue(), out.getvalue() + err.getvalue()
    started.refresh_from_db()
    assert started.simulated_traffic  # even with a storefront's key: the command's visitors are made up
    totals = {
        row["variant__key"]: row
        for row in UnitTotals.objects.values("variant__key").annotate(
            units=Sum(1), imp=Sum("impressions"), clicks=Sum("clicks"), orders=Sum("orders")
        )
    }
    control, vivid = totals["control"], totals["llm-l060"]
    # 3,000 units at weights 1:1:2 → ~750 control units; the observed rates sit near the truth.
    assert control["clicks"] / control["imp"] == pytest.approx(0.05, abs=0.02)
    assert vivid["clicks"] / vivid["imp"] == pytest.approx(0.2, abs=0.03)
    assert vivid["orders"] / vivid["imp"] == pytest.approx(0.1, abs=0.025)
    timestamps = list(Event.objects.values_list("ts", flat=True))
    assert min(timestamps) >= timezone.now() - timedelta(days=7, minutes=1)
    assert (max(timestamps) - min(timestamps)).days >= 5
    # Same seed again: the same event ids, so nothing new is stored.
    before = Event.objects.count()
    _simulate_week(started, live_server.url, write_key[1], stdout=StringIO(), stderr=StringIO())
    assert Event.objects.count() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--units", "0"], "must be positive"),
        (["--ctr", "lots"], "--ctr"),
        (["--cvr", "1.5"], "between 0 and 1"),
        (["--ctr", "0.05", "--cvr", "0.2"], "cvr ≤ ctr"),
    ],
)
def test_simulate_traffic_bad_arguments(started, write_key, args, message):
    with pytest.raises(CommandError, match=message):
        call_command(
            "simulate_traffic",
            "--experiment",
            started.key,
            "--write-key",
            write_key[1],
            *args,
            stdout=StringIO(),
            stderr=StringIO(),
        )


@pytest.mark.django_db
def test_import_events_backfills_with_the_api_rules(started, tmp_path):
    ts = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    good = [
        {"event_id": f"b-{i}", "type": "impression", "experiment": started.key, "unit": f"u{i}", "ts": ts}
        for i in range(1200)
    ]
    lines = [json.dumps(e) for e in good]
    lines.insert(10, "{broken")
    lines.insert(20, json.dumps({**good[0], "event_id": "b-x", "type": "view"}))
    lines.append(json.dumps(good[5]))  # a duplicate of a line already imported
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="2 line"):
        call_command("import_events", str(path), "--quiet", stdout=out, stderr=err)
    assert "1200 accepted, 1 duplicate, 2 rejected" in out.getvalue()
    assert "line 11: line: not valid JSON" in err.getvalue()
    assert "line 21: type: must be one of" in err.getvalue()
    assert Event.objects.count() == 1200
    again = StringIO()
    with pytest.raises(CommandError):
        call_command("import_events", str(path), "--quiet", stdout=again, stderr=StringIO())
    assert "0 accepted, 1201 duplicate, 2 rejected" in again.getvalue()


@pytest.mark.django_db
def test_import_events_missing_file():
    with pytest.raises(CommandError, match="cannot read"):
        call_command("import_events", "/nonexistent/events.jsonl", stdout=StringIO(), stderr=StringIO())
