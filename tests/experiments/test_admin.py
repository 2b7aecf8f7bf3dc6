"""The marketer's admin: lists, filters, inline variants, lifecycle actions, roles."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
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


def test_seed_demo_is_idempotent(capsys, settings, tmp_path):
    from ingest.writekeys import write_key_authenticate

    settings.VAR_DIR = tmp_path
    call_command("seed_demo")
    key = (tmp_path / "demo_write_key").read_text().strip()
    call_command("seed_demo")
    assert (tmp_path / "demo_write_key").read_text().strip() == key  # the working key is kept
    assert write_key_authenticate(key) is not None
    out = capsys.readouterr().out
    assert "Demo experiments already present" in out
    assert Experiment.objects.filter(key__startswith="demo-").count() == 3
    from catalog.models import Product

    assert Product.objects.count() == 60


def test_ensure_admin_prints_password_once(capsys):
    call_command("ensure_admin")
    first = capsys.readouterr().out
    call_command("ensure_admin")
    second = capsys.readouterr().out
    assert "with password: " in first and "password: " not in second.replace("password was", "")
    password = first.split("with password: ")[1].split()[0]
    # Through the login form: django-axes needs the request (Client.login calls authenticate() without one).
    response = Client().post("/admin/login/", {"username": "admin", "password": password, "next": "/admin/"})
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_demo_traffic_seed_starts_two_weeks_back_and_is_idempotent(settings, tmp_path):
    # The LLM half of `seed_demo --llm` is the generator's job (tested in tests/generator); here
    # the variants are written by hand and the traffic half is checked.
    from datetime import timedelta

    from django.utils import timezone

    from analytics.models import ReportSnapshot
    from demo.seed import DEMO_DAYS, demo_arm_truth, demo_seed, demo_traffic_seed, demo_write_key
    from experiments.models import Variant
    from ingest.models import Event, UnitTotals

    settings.VAR_DIR = tmp_path
    demo_seed()
    experiment = Experiment.objects.get(key="demo-tee")
    for i, lam in enumerate((0.35, 0.55, 0.75), start=1):
        Variant.objects.create(
            experiment=experiment,
            key=f"llm-l{round(lam * 100):03d}",
            name=f"λ {lam}",
            position=i,
            lambda_value=lam,
            copy=f"Soft organic cotton, cut to last. Shop now ({lam}).",
            approved=True,
        )
    stored = demo_traffic_seed(experiment=experiment, write_key=demo_write_key(), visitors=1500)
    experiment.refresh_from_db()
    assert experiment.status == Experiment.Status.RUNNING
    assert timezone.now() - experiment.started_at >= timedelta(days=DEMO_DAYS) - timedelta(minutes=1)
    assert stored == Event.objects.filter(experiment=experiment).count() > 1500  # ≥ one impression each
    units_by_variant = {v.key: UnitTotals.objects.filter(variant=v).count() for v in experiment.variants.all()}
    assert all(n > 250 for n in units_by_variant.values()), units_by_variant  # four arms, equal weights
    assert ReportSnapshot.objects.filter(experiment=experiment).count() >= DEMO_DAYS
    assert demo_traffic_seed(experiment=experiment, write_key=demo_write_key()) == 0  # a rerun adds nothing
    assert Event.objects.filter(experiment=experiment).count() == stored
    assert demo_arm_truth(0.2).ctr > demo_arm_truth(0.8).ctr  # the paper's sweep: CTR falls with λ


def test_seed_demo_llm_reports_a_failed_generation_and_exits_non_zero(settings, tmp_path, monkeypatch):
    from django.core.management.base import CommandError

    from generator import jobs as generator_jobs
    from generator.models import GenerationJob

    settings.VAR_DIR = tmp_path

    def failed_job(*, experiment, **kwargs):
        return GenerationJob(experiment=experiment, lambdas=[0.5], status=GenerationJob.Status.FAILED, error="boom")

    monkeypatch.setattr(generator_jobs, "generation_run_sync", failed_job)
    with pytest.raises(CommandError, match="demo generation for demo-headphones failed: boom"):
        call_command("seed_demo", "--llm")
    assert Experiment.objects.get(key="demo-headphones").status == Experiment.Status.DRAFT  # nothing started
