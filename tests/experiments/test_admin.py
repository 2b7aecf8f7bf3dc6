"""The marketer's admin: lists, filters, inline variants, lifecycle actions, roles."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client

from experiments.models import Experiment

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_marketer_lists_filters_and_starts_from_admin(make_experiment, marketer):
    experiment = make_experiment()
    client = _client(marketer)
    page = client.get("/admin/experiments/experiment/", {"status__exact": "draft", "q": "ELEC-T01"})
    assert page.status_code == 200 and b"pulse-copy" in page.content
    assert client.get("/admin/experiments/experiment/", {"status__exact": "running"}).content.count(b"pulse-copy") == 0
    change = client.get(f"/admin/experiments/experiment/{experiment.pk}/change/")
    assert change.status_code == 200 and b"llm-l060" in change.content
    response = client.post(
        "/admin/experiments/experiment/",
        {"action": "experiment_start", "_selected_action": [experiment.pk]},
        follow=True,
    )
    assert response.status_code == 200
    experiment.refresh_from_db()
    assert experiment.status == Experiment.Status.RUNNING
    history = client.get(f"/admin/experiments/experiment/{experiment.pk}/history/")
    assert b"Started" in history.content
    assert LogEntry.objects.filter(object_id=str(experiment.pk), user=marketer).exists()


def test_admin_action_error_is_shown(make_experiment, marketer):
    experiment = make_experiment(approved=False)
    response = _client(marketer).post(
        "/admin/experiments/experiment/",
        {"action": "experiment_start", "_selected_action": [experiment.pk]},
        follow=True,
    )
    assert b"not approved" in response.content
    experiment.refresh_from_db()
    assert experiment.status == Experiment.Status.DRAFT


def test_analyst_reads_but_cannot_change(make_experiment, analyst):
    experiment = make_experiment()
    client = _client(analyst)
    assert client.get("/admin/experiments/experiment/").status_code == 200
    assert client.get("/admin/catalog/product/").status_code == 200
    assert client.get("/admin/experiments/experiment/add/").status_code == 403
    client.post("/admin/experiments/experiment/", {"action": "experiment_start", "_selected_action": [experiment.pk]})
    experiment.refresh_from_db()
    assert experiment.status == Experiment.Status.DRAFT


def test_anonymous_sees_nothing(make_experiment):
    make_experiment()
    response = Client().get("/admin/experiments/experiment/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
