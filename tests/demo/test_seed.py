"""Demo seeding: idempotent catalog, experiments and write key; traffic two weeks back; the admin user."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from experiments.models import Experiment

pytestmark = pytest.mark.django_db


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
    assert Experiment.objects.filter(key__startswith="demo-").count() == 4  # three one-product, one catalog
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
    from experiments.variants import variant_approve, variant_save_generated
    from ingest.models import Event, UnitTotals

    settings.VAR_DIR = tmp_path
    demo_seed()
    experiment = Experiment.objects.get(key="demo-tee")
    for i, lam in enumerate((0.35, 0.55, 0.75), start=1):
        variant, _ = variant_save_generated(
            experiment=experiment,
            key=f"llm-l{round(lam * 100):03d}",
            position=i,
            lambda_value=lam,
            copy=f"Soft organic cotton, cut to last. Shop now ({lam}).",
        )
        variant_approve(variant=variant, user=None)
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


def test_demo_approves_only_copy_that_passes_the_guards(settings, tmp_path, monkeypatch):
    """Defence in depth: even if a variant with an invented claim reached the demo, it is dropped,
    and an experiment left without LLM copy stays a draft instead of breaking `make run`."""
    from demo.seed import demo_experiment_create, demo_seed, demo_variants_generate
    from experiments.variants import variant_save_generated
    from generator import jobs as generator_jobs
    from generator.models import GenerationJob

    settings.VAR_DIR = tmp_path
    demo_seed()
    experiment = Experiment.objects.get(key="demo-headphones")
    copies = {
        "llm-l020": "Up to 30 hours of battery life and Bluetooth 5.3, with noise cancellation. Shop now.",
        "llm-l040": "Battery life: 17 hours of charge. Biocompatible Nocturnal Lux. Shop now.",
    }

    def made_variants(*, experiment, **kwargs):
        for position, (key, copy) in enumerate(copies.items(), start=1):
            variant_save_generated(experiment=experiment, key=key, copy=copy, lambda_value=0.2, position=position)
        return GenerationJob(experiment=experiment, lambdas=[0.2, 0.4], status=GenerationJob.Status.SUCCEEDED)

    monkeypatch.setattr(generator_jobs, "generation_run_sync", made_variants)
    approved = demo_variants_generate(experiment=experiment)
    assert [v.key for v in approved] == ["llm-l020"]
    assert set(experiment.variants.values_list("key", flat=True)) == {"control", "llm-l020"}

    copies = {"llm-l060": "Free shipping and 50% off for 3 months! [Your Email Address]"}
    other = demo_experiment_create(key="demo-other", sku="ELEC-002", hypothesis="")
    assert demo_variants_generate(experiment=other) == []
    monkeypatch.setattr("demo.seed.DEMO_EXPERIMENTS", (("demo-other", "ELEC-002", ""),))
    # The fake writes one-product copy; the catalog demo has its own test (test_catalog_demo.py).
    monkeypatch.setattr("demo.seed.demo_catalog_experiment_seed", lambda **kwargs: None)
    out = StringIO()
    Experiment.objects.filter(key="demo-other").first().variants.exclude(is_control=True).delete()
    call_command("seed_demo", "--llm", stdout=out)
    assert "demo-other: no LLM candidate passed the copy guards" in out.getvalue()
    assert Experiment.objects.get(key="demo-other").status == Experiment.Status.DRAFT


def test_demo_experiments_share_shoppers_so_reports_are_cuped_adjusted(settings, tmp_path):
    """The demo's shoppers visit several experiments at their own times: a report reads the visits
    before each shopper's first exposure as CUPED's covariate."""
    from analytics import services
    from demo.seed import demo_seed, demo_traffic_seed, demo_write_key
    from experiments.variants import variant_approve, variant_save_generated

    settings.VAR_DIR = tmp_path
    demo_seed()
    for key in ("demo-tee", "demo-headphones"):
        experiment = Experiment.objects.get(key=key)
        variant, _ = variant_save_generated(
            experiment=experiment, key="llm-l050", position=1, lambda_value=0.5, copy="Made to be worn often. Shop now."
        )
        variant_approve(variant=variant, user=None)
        demo_traffic_seed(experiment=experiment, write_key=demo_write_key(), visitors=2000)
    report = services.report_build(experiment=Experiment.objects.get(key="demo-headphones"), backfill="never")
    assert report.cuped.units_with_pre_exposure_data > 300  # about a third of 2,000 shoppers saw the tee first
    assert "ctr" in report.cuped.metrics
    assert report.treatments[0].metrics["ctr"].lift.cuped.variance_reduction > 0
