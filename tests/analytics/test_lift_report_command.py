"""manage.py lift_report KEY --format json|csv|html, and report_snapshots."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command

from analytics.models import ReportSnapshot
from analytics.report.options import ALL_METRICS
from tests.analytics.factories import Truth, candidates_for, traffic

pytestmark = pytest.mark.django_db


@pytest.fixture
def running(make_experiment):
    experiment = make_experiment(start=True)
    traffic(experiment, units=900, days=3, seed=31, truths={"llm-l060": Truth(0.15, 0.07)})
    candidates_for(experiment)
    return experiment


def run(*args) -> str:
    out = io.StringIO()
    call_command("lift_report", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_json_is_the_api_report_and_backfills_first(running):
    report = json.loads(run(running.key))
    assert report["experiment"] == running.key and report["snapshots"]["backfill"] == "done"
    assert len(report["timeseries"]) == 3 and ReportSnapshot.objects.filter(experiment=running).count() == 3
    assert report["variants"][2]["diversity"] == pytest.approx(0.35 + 0.4 * 0.6)
    assert report["variants"][0]["diversity"] is None  # the control has no generator record


def test_csv(running):
    lines = list(csv.DictReader(io.StringIO(run(running.key, "--format", "csv"))))
    rows = [line for line in lines if not line["breakdown"]]  # then the daily and cohort rows
    assert len(rows) == 3 * len(ALL_METRICS) and {r["experiment"] for r in lines} == {running.key}
    assert {line["breakdown"] for line in lines[len(rows) :]} == {"day", "exposure_cohort"}


def test_segment_option(running):
    data = json.loads(run(running.key, "--format", "json", "--segment", "device"))
    assert [b["dimension"] for b in data["breakdowns"]] == ["device"]
    assert [r["key"] for r in data["breakdowns"][0]["rows"]] == ["unknown"]  # no unit sent attributes


def test_html_is_self_contained(running, tmp_path):
    path = tmp_path / "report.html"
    call_command("lift_report", running.key, "--format", "html", "--output", str(path), stderr=io.StringIO())
    html = path.read_text()
    assert html.startswith("<!doctype html>")
    assert "plotly.js v" in html and "Plotly.newPlot" in html  # the library and the page script, inline
    assert '<script src="' not in html and '<link rel="stylesheet"' not in html
    for chart in ("chart-lift", "chart-units", "chart-funnel", "chart-tradeoff"):
        assert f'<script id="{chart}" type="application/json">' in html
    assert "csrfmiddlewaretoken" not in html


def test_options_and_no_backfill(running):
    report = json.loads(run(running.key, "--sequential-method", "msprt", "--correction", "bh", "--no-backfill"))
    assert report["sequential_method"] == "msprt" and report["correction"] == "bh"
    assert report["snapshots"]["backfill"] == "pending" and not ReportSnapshot.objects.exists()


def test_unknown_key_and_bad_format(running, tmp_path):
    with pytest.raises(CommandError, match="experiment 'nope' not found"):
        run("nope")
    with pytest.raises(CommandError):
        run(running.key, "--format", "pdf")
    with pytest.raises(CommandError, match="cannot write"):
        run(running.key, "--output", str(tmp_path / "missing" / "x.json"))


def test_report_snapshots_command(running, make_experiment):
    with pytest.raises(CommandError, match="unknown experiment"):
        call_command("report_snapshots", "nope", stdout=io.StringIO())
    with pytest.raises(CommandError, match="--replace"):
        call_command("report_snapshots", "--replace", stdout=io.StringIO())
    out = io.StringIO()
    call_command("report_snapshots", stdout=out)
    assert running.key in out.getvalue() and ReportSnapshot.objects.filter(experiment=running).count() == 1
