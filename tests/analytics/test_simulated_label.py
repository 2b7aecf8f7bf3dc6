"""Simulated traffic is labelled wherever a result is shown: events posted with a simulated write key
(the demo's) mark the experiment, and its report says "simulated traffic" in the JSON, the CSV, the
report page (next to the decision and every lift), the index and the λ page."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from rest_framework.test import APIClient

from experiments.models import Experiment
from ingest.writekeys import write_key_create, write_key_scope
from tests.analytics.factories import Truth, traffic

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]


def _post(key: str, experiment: str, n: int = 3):
    now = datetime.now(UTC)
    events = [
        {"event_id": f"s-{i}", "type": "impression", "experiment": experiment, "unit": f"u-{i}", "ts": now.isoformat()}
        for i in range(n)
    ]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client.post("/api/v1/events", json.dumps({"events": events}), content_type="application/json")


def test_the_demo_key_is_simulated_and_its_events_mark_the_experiment(make_experiment, settings, tmp_path):
    from demo.seed import demo_write_key

    settings.VAR_DIR = tmp_path
    experiment = make_experiment(started_ago=timedelta(days=1))
    other = make_experiment("other-copy")  # a draft of the same product: no events
    key = demo_write_key()
    assert write_key_scope(key).simulated
    response = _post(key, experiment.key)
    assert response.status_code == 202 and response.json()["accepted"] == 3
    experiment.refresh_from_db()
    other.refresh_from_db()
    assert experiment.simulated_traffic and not other.simulated_traffic  # only the experiment it posted for


def test_a_storefront_key_does_not_mark_and_a_refused_batch_marks_nothing(make_experiment):
    experiment = make_experiment(started_ago=timedelta(days=1))
    _, shop = write_key_create(name="shop")
    assert _post(shop, experiment.key).status_code == 202
    experiment.refresh_from_db()
    assert not experiment.simulated_traffic
    _, simulator = write_key_create(name="sim", simulated=True)
    assert _post(simulator, "no-such-experiment").json()["accepted"] == 0
    assert not Experiment.objects.filter(simulated_traffic=True).exists()


def test_an_old_demo_key_becomes_simulated_on_the_next_seed(settings, tmp_path):
    from demo.seed import demo_write_key

    settings.VAR_DIR = tmp_path
    _, clear = write_key_create(name="demo storefront")  # made before keys had the flag
    (tmp_path / "demo_write_key").write_text(clear + "\n")
    assert not write_key_scope(clear).simulated
    assert demo_write_key() == clear and write_key_scope(clear).simulated


@pytest.fixture
def simulated(make_experiment):
    experiment = make_experiment(start=True)
    traffic(experiment, units=800, days=3, seed=21, truths={"llm-l060": Truth(0.16, 0.07)})
    Experiment.objects.filter(pk=experiment.pk).update(simulated_traffic=True)
    experiment.refresh_from_db()
    return experiment


def test_report_json_and_csv_say_simulated_traffic(simulated, analyst_client):
    body = analyst_client.get(f"/api/v1/experiments/{simulated.key}/report").json()
    assert body["simulated_traffic"] is True
    rows = list(
        csv.DictReader(
            io.StringIO(analyst_client.get(f"/api/v1/experiments/{simulated.key}/report.csv").content.decode())
        )
    )
    assert rows and all(row["simulated_traffic"] == "true" for row in rows)
    Experiment.objects.filter(pk=simulated.pk).update(simulated_traffic=False)
    assert analyst_client.get(f"/api/v1/experiments/{simulated.key}/report").json()["simulated_traffic"] is False


def _page(user, path: str) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


LABEL = 'class="badge simulated"'


def test_report_page_labels_the_banner_and_every_lift(simulated, analyst):
    html = _page(analyst, f"/reports/{simulated.key}/")
    assert "<strong>Simulated traffic.</strong>" in html  # the note under the title
    decision = re.search(r'<div class="decision[^"]*">(.*?)</div>', html, re.S).group(1)
    assert LABEL in decision and "Simulated traffic" in decision  # next to the decision's banner
    lift_cells = re.findall(r'<td class="num lift[^"]*">(.*?)</td>', html, re.S)
    assert lift_cells and all(LABEL in cell and "%" in cell for cell in lift_cells)  # next to every lift
    index = _page(analyst, "/reports/")
    row = re.search(rf'<tr>\s*<td><a href="/reports/{simulated.key}/">.*?</tr>', index, re.S).group(0)
    assert row.count(LABEL) == 2  # the leading lift and the decision
    assert LABEL in _page(analyst, "/reports/lambda/")


def test_real_traffic_has_no_label(make_experiment, analyst):
    experiment = make_experiment(start=True)
    traffic(experiment, units=400, days=3, seed=5)
    assert "imulated" not in _page(analyst, f"/reports/{experiment.key}/")
    assert "imulated" not in _page(analyst, "/reports/")
