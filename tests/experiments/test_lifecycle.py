"""Lifecycle rules of experiments, enforced by the services."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import CHANGE, LogEntry

from abplatform.errors import FieldErrors, LifecycleError
from catalog.models import Product
from experiments import services, variants
from experiments.models import Experiment
from tests.conftest import arm_copy, variant_rows

pytestmark = pytest.mark.django_db


def test_start_records_time_and_history(make_experiment, marketer):
    experiment = make_experiment(start=True)
    assert experiment.status == Experiment.Status.RUNNING
    assert experiment.started_at is not None
    messages = list(
        LogEntry.objects.filter(object_id=str(experiment.pk), action_flag=CHANGE).values_list(
            "change_message", flat=True
        )
    )
    assert messages == ["Started"]


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda rows: [r for r in rows if not r.get("is_control")], "exactly one control"),
        (lambda rows: [{**r, "is_control": True} for r in rows], "exactly one control"),
        (lambda rows: rows[:1], "at least one variant besides the control"),
        (lambda rows: [{**r, "weight": 0} if r["key"] == "llm-l040" else r for r in rows], "weights must be positive"),
        (lambda rows: [{**r, "approved": False} if r["key"] == "llm-l060" else r for r in rows], "not approved"),
        (
            lambda rows: [{**r, "copy": r["copy"] + " So cheap!"} if r["key"] == "llm-l060" else r for r in rows],
            "forbidden word 'cheap'",
        ),
        (
            lambda rows: [{**r, "copy": "x" * 250} if r["key"] == "llm-l040" else r for r in rows],
            "over the brand's limit",
        ),
    ],
)
def test_start_refuses_with_the_rule_broken(make_experiment, mutate, reason):
    experiment = make_experiment(variants=mutate(variant_rows()))
    with pytest.raises(LifecycleError, match=reason):
        services.experiment_start(experiment=experiment)
    experiment.refresh_from_db()
    assert experiment.status == Experiment.Status.DRAFT


def test_cta_required_brand(make_experiment, product):
    guideline = product.guideline
    guideline.cta_required = True
    guideline.save()
    experiment = make_experiment()
    with pytest.raises(LifecycleError, match="'control': the brand requires a call to action"):
        services.experiment_start(experiment=experiment)


def test_running_experiment_freezes_allocation(make_experiment):
    experiment = make_experiment(start=True)
    for change in ({"coverage": 0.5}, {"seed": "other"}, {"variants": variant_rows()}, {"namespace": ["n", 0, 0.5]}):
        with pytest.raises(LifecycleError, match="cannot change after start"):
            services.experiment_update(experiment=experiment, data=change)
    services.experiment_update(experiment=experiment, data={"name": "Renamed", "coverage": 1.0})
    experiment.refresh_from_db()
    assert experiment.name == "Renamed"


def test_pause_resume_stop_and_stopped_is_final(make_experiment, marketer):
    experiment = make_experiment(start=True)
    started_at = experiment.started_at
    services.experiment_pause(experiment=experiment, user=marketer)
    with pytest.raises(LifecycleError, match="only a running one can pause"):
        services.experiment_pause(experiment=experiment)
    services.experiment_start(experiment=experiment, user=marketer)
    experiment.refresh_from_db()
    assert experiment.started_at == started_at  # resuming keeps the original start
    services.experiment_stop(experiment=experiment, user=marketer)
    experiment.refresh_from_db()
    assert experiment.status == Experiment.Status.STOPPED and experiment.stopped_at is not None
    with pytest.raises(LifecycleError, match="cannot restart"):
        services.experiment_start(experiment=experiment)
    with pytest.raises(LifecycleError, match="only a running or paused one can stop"):
        services.experiment_stop(experiment=experiment)
    history = list(
        LogEntry.objects.filter(object_id=str(experiment.pk), action_flag=CHANGE)
        .order_by("id")
        .values_list("change_message", flat=True)
    )
    assert history == ["Started", "Paused", "Resumed", "Stopped"]


def test_one_running_experiment_per_product_unless_namespaces_split(make_experiment):
    make_experiment("first", start=True)
    second = make_experiment("second")
    with pytest.raises(LifecycleError, match="already has active experiment"):
        services.experiment_start(experiment=second)

    left = make_experiment("left", namespace=["pdp", 0.0, 0.5], product=_other_product())
    right = make_experiment("right", namespace=["pdp", 0.5, 1.0], product=left.product)
    overlapping = make_experiment("overlap", namespace=["pdp", 0.4, 0.6], product=left.product)
    services.experiment_start(experiment=left)
    services.experiment_start(experiment=right)
    with pytest.raises(LifecycleError, match=r"left, right|right, left"):
        services.experiment_start(experiment=overlapping)


def _other_product() -> Product:
    base = Product.objects.get(sku="ELEC-T01")
    return Product.objects.create(
        sku="ELEC-T02", title="Other", brand=base.brand, category=base.category, price="10.00"
    )


def test_create_validates_fields(make_experiment):
    make_experiment("dup")
    with pytest.raises(FieldErrors) as excinfo:
        make_experiment("dup")
    assert "key" in excinfo.value.errors
    with pytest.raises(FieldErrors) as excinfo:
        make_experiment("ns", namespace=["pdp", 0.7, 0.2])
    assert "namespace" in excinfo.value.errors
    bad_rows = [*variant_rows(), variant_rows()[0]]
    with pytest.raises(FieldErrors, match="duplicate variant key"):
        make_experiment("dupvariants", variants=bad_rows)


def test_approve_records_who_and_when(make_experiment, marketer):
    experiment = make_experiment(approved=False)
    variant = experiment.variants.get(key="llm-l060")
    variants.variant_approve(variant=variant, user=marketer)
    variant.refresh_from_db()
    row = arm_copy(variant)
    assert row.approved and row.reviewed_by == marketer and row.reviewed_at is not None
