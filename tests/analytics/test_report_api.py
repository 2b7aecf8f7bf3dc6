"""GET /api/v1/experiments/KEY/report and report.csv: roles, errors, formats, OpenAPI."""

from __future__ import annotations

import csv
import io

import pytest

from analytics.report.csv_export import CSV_COLUMNS
from analytics.report.options import ALL_METRICS
from tests.analytics.factories import Truth, traffic
from tests.conftest import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]


@pytest.fixture
def running(make_experiment):
    experiment = make_experiment(start=True)
    traffic(experiment, units=600, days=3, seed=11, truths={"llm-l060": Truth(0.15, 0.07)})
    return experiment


def test_analyst_and_marketer_read_the_report(running, analyst_client, marketer_client, admin_user):
    for client in (analyst_client, marketer_client, client_for(admin_user)):
        response = client.get(f"/api/v1/experiments/{running.key}/report")
        assert response.status_code == 200
        body = response.json()
        assert body["experiment"] == running.key and body["status"] == "running"
        assert [v["key"] for v in body["variants"]] == ["control", "llm-l040", "llm-l060"]
        assert set(body["variants"][2]["metrics"]) == set(ALL_METRICS)
        assert body["timeseries"], "the backfill ran (eager Celery) and the daily looks are there"


def test_anonymous_and_roleless_users_are_refused(running, anon_client, outsider):
    for path in (f"/api/v1/experiments/{running.key}/report", f"/api/v1/experiments/{running.key}/report.csv"):
        response = anon_client.get(path)
        assert response.status_code in (401, 403) and "error" in response.json()
        response = client_for(outsider).get(path)
        assert response.status_code == 403 and "error" in response.json()


def test_unknown_key_is_a_json_404(analyst_client):
    for path in ("/api/v1/experiments/nope/report", "/api/v1/experiments/nope/report.csv"):
        response = analyst_client.get(path)
        assert response.status_code == 404
        assert response.json() == {"error": "experiment 'nope' not found"}


def test_bad_option_is_a_400(running, analyst_client):
    response = analyst_client.get(f"/api/v1/experiments/{running.key}/report?sequential_method=magic")
    assert response.status_code == 400
    assert "sequential_method" in response.json()["fields"]
    response = analyst_client.get(f"/api/v1/experiments/{running.key}/report?sequential_method=msprt&correction=bh")
    assert response.status_code == 200 and response.json()["sequential_method"] == "msprt"


def test_csv_endpoint(running, analyst_client):
    response = analyst_client.get(f"/api/v1/experiments/{running.key}/report.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="{running.key}-report.csv"' in response["Content-Disposition"]
    lines = list(csv.DictReader(io.StringIO(response.content.decode())))
    rows = [line for line in lines if not line["breakdown"]]
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == 3 * len(ALL_METRICS) and lines[: len(rows)] == rows
    # the exposure-cohort rows (and daily rows, once snapshots have them) follow the pooled ones
    assert "exposure_cohort" in {line["breakdown"] for line in lines[len(rows) :]} <= {"day", "exposure_cohort"}
    strict = analyst_client.get(f"/api/v1/experiments/{running.key}/report.csv", HTTP_ACCEPT="text/csv")
    assert strict.status_code == 200 and strict.content == response.content
    missing = analyst_client.get("/api/v1/experiments/nope/report.csv", HTTP_ACCEPT="text/csv")
    assert missing.status_code == 404 and missing.content.startswith(b"error\n")


def test_writes_are_not_allowed(running, marketer_client):
    assert marketer_client.post(f"/api/v1/experiments/{running.key}/report").status_code == 405


def test_openapi_documents_the_report(admin_user):
    response = client_for(admin_user).get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    report = paths["/api/v1/experiments/{key}/report"]["get"]
    schema = report["responses"]["200"]["content"]["application/json"]["schema"]
    assert {"experiment", "srm", "variants", "decision", "timeseries"} <= set(schema["properties"])
    assert {p["name"] for p in report["parameters"]} >= {"key", "sequential_method", "correction"}
    assert "text/csv" in paths["/api/v1/experiments/{key}/report.csv"]["get"]["responses"]["200"]["content"]
