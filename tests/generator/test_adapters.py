"""Fine-tuning without the model: data weights, the absolute reward, the activation gate, commands, admin."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from abplatform.errors import FieldErrors
from catalog.models import Category
from generator import adapters, jobs, selectors
from generator.finetune import data
from generator.models import Adapter, GenerationJob
from generator.predictor import prior_model
from generator.reward import candidate_reward, conversion_bounds
from tests.generator.conftest import scored_candidate

# --- pure parts ---------------------------------------------------------------------------------


def test_cta_span_is_the_sentence_with_the_call_to_action():
    text = "Crisp sound for every commute. Shop now and save. Ships free."
    start, end = data.cta_char_span(text, cta_tagged=False)
    assert text[start:end].strip() == "Shop now and save."
    assert data.cta_char_span("No call here. Just facts.", cta_tagged=False) is None
    start, end = data.cta_char_span("No call here. Grab a bag before it is gone.", cta_tagged=True)
    assert "Grab a bag" in "No call here. Grab a bag before it is gone."[start:end]


def test_outcome_weight_rewards_copy_that_converted_and_is_bounded():
    even = data.outcome_weight(impressions=10_000, clicks=1000, orders=400, mean_ctr=0.1, mean_cvr=0.04)
    better = data.outcome_weight(impressions=10_000, clicks=1500, orders=600, mean_ctr=0.1, mean_cvr=0.04)
    worse = data.outcome_weight(impressions=10_000, clicks=500, orders=200, mean_ctr=0.1, mean_cvr=0.04)
    assert worse < even < better and even == pytest.approx(1.0)
    assert data.outcome_weight(impressions=10**7, clicks=10**7, orders=10**7, mean_ctr=0.1, mean_cvr=0.04) == 4.0
    # Few impressions: shrunk towards the mean, so one lucky order does not dominate the data.
    assert data.outcome_weight(impressions=10, clicks=5, orders=3, mean_ctr=0.1, mean_cvr=0.04) < 1.2
    assert data.outcome_weight(impressions=0, clicks=0, orders=0, mean_ctr=0.1, mean_cvr=0.04) == 1.0


def test_sentiment_tags_map_to_the_generators_sentiment_prompts():
    assert data.sentiment_phrase("enthusiastic") == ("enthusiastic", 1.0)
    assert data.sentiment_phrase("neutral")[1] == 0.0
    assert data.sentiment_tag_for(0.8) == "enthusiastic" and data.sentiment_tag_for(0.0) == "neutral"


def test_batches_depend_only_on_seed_and_step():
    items = list(range(50))
    first = data.batch_for_step(items, size=4, seed=3, step=7)
    assert first == data.batch_for_step(items, size=4, seed=3, step=7)
    assert first != data.batch_for_step(items, size=4, seed=3, step=8)


def test_absolute_reward_uses_fixed_bounds_and_penalises_non_compliance():
    low, high = conversion_bounds(prior_model("cvr"))
    assert 0 < low < 0.02 < 0.05 < high < 1
    kept = candidate_reward(scored_candidate(novelty=0.5, p_conv=0.05, rank=1), lam=0.6, bounds=(low, high))
    dropped = candidate_reward(scored_candidate(novelty=0.5, p_conv=0.05, rank=None), lam=0.6, bounds=(low, high))
    assert dropped == pytest.approx(kept - 0.5)
    better = candidate_reward(scored_candidate(novelty=0.5, p_conv=0.08, rank=1), lam=0.6, bounds=(low, high))
    assert better > kept  # an absolute scale: comparable across pools and models


# --- services and the gate ---------------------------------------------------------------------


@pytest.fixture
def fmcg(db) -> Category:
    return Category.objects.get(name="FMCG")


def _ready_adapter(category: Category, tmp_path, *, base: float | None, tuned: float | None, version: int = 1):
    folder = tmp_path / f"v{version}"
    folder.mkdir()
    (folder / "adapter_config.json").write_text("{}")
    metrics = {}
    if base is not None:
        metrics["evaluation"] = {
            "mean_reward": {"base": base, "tuned": tuned},
            "guard_pass_rate": {"base": 0.5, "tuned": 0.6},
            "categories": {},
        }
    return Adapter.objects.create(
        category=category,
        version=version,
        mode="sft",
        path=str(folder),
        base_model="smollm2",
        status=Adapter.Status.READY,
        metrics=metrics,
    )


def test_training_run_is_validated_versioned_and_queued(fmcg, settings, tmp_path, django_capture_on_commit_callbacks):
    settings.GENERATOR_ADAPTER_DIR = tmp_path
    with pytest.raises(FieldErrors) as excinfo:
        adapters.adapter_training_create(category=fmcg, mode="dpo", steps=0, params={"lr": -1, "bogus": 1})
    assert set(excinfo.value.errors) == {"mode", "steps", "lr", "bogus"}
    with django_capture_on_commit_callbacks() as callbacks:
        first = adapters.adapter_training_create(category=fmcg, mode="sft", steps=5, enqueue=False)
        second = adapters.adapter_training_create(category=fmcg, mode="rl", steps=5, params={"lr": 1e-3}, enqueue=False)
    assert callbacks == []
    assert (first.version, second.version) == (1, 2)
    assert second.path == str(tmp_path / "fmcg" / "v2") and second.params["lr"] == 1e-3
    assert second.params["lam"] == fmcg.recommended_lambda and first.status == Adapter.Status.QUEUED
    assert adapters.adapter_resumable(category=fmcg, mode="rl") == second
    (tmp_path / "fmcg" / "v3").mkdir(parents=True)
    (tmp_path / "fmcg" / "v3" / "adapter_config.json").write_text("{}")  # left by another database
    assert adapters.adapter_training_create(category=fmcg, mode="sft", steps=1, enqueue=False).version == 4


def test_gate_refuses_without_evaluation_or_when_not_better_unless_overridden(fmcg, tmp_path, admin_user):
    unevaluated = _ready_adapter(fmcg, tmp_path, base=None, tuned=None, version=1)
    worse = _ready_adapter(fmcg, tmp_path, base=0.40, tuned=0.38, version=2)
    better = _ready_adapter(fmcg, tmp_path, base=0.40, tuned=0.45, version=3)
    with pytest.raises(adapters.AdapterGateError, match="no evaluation"):
        adapters.adapter_activate(adapter=unevaluated)
    with pytest.raises(adapters.AdapterGateError, match="does not beat"):
        adapters.adapter_activate(adapter=worse)
    assert selectors.active_adapter(category=fmcg) is None

    adapters.adapter_activate(adapter=better, user=admin_user)
    assert selectors.active_adapter(category=fmcg) == better
    assert selectors.adapter_path_for(category=fmcg, base_model="smollm2") == better.path
    assert selectors.adapter_path_for(category=fmcg, base_model="other/model") is None

    forced = adapters.adapter_activate(adapter=worse, override=True, user=admin_user)
    assert forced.active and forced.metrics["activation"]["override"] is True
    better.refresh_from_db()
    assert not better.active  # one active adapter per category
    adapters.adapter_deactivate(adapter=forced)
    assert selectors.active_adapter(category=fmcg) is None


def test_training_adapter_cannot_be_activated_even_with_override(fmcg, tmp_path):
    adapter = _ready_adapter(fmcg, tmp_path, base=0.1, tuned=0.9)
    Adapter.objects.filter(pk=adapter.pk).update(status=Adapter.Status.TRAINING)
    adapter.refresh_from_db()
    with pytest.raises(adapters.AdapterGateError, match="training"):
        adapters.adapter_activate(adapter=adapter, override=True)


def test_generation_job_uses_the_categorys_active_adapter(draft_experiment, stub_pipeline, tmp_path):
    seen = []

    def recording(**kwargs):
        seen.append(kwargs.get("adapter"))
        return stub_pipeline(**kwargs)

    category = draft_experiment.product.category
    adapter = _ready_adapter(category, tmp_path, base=0.3, tuned=0.4)
    adapters.adapter_activate(adapter=adapter)
    job = jobs.generation_job_create(experiment=draft_experiment, lambdas=[0.4], candidates=2, top_k=1, enqueue=False)
    job = jobs.generation_job_run(job_id=job.pk, generate=recording)
    assert job.status == GenerationJob.Status.SUCCEEDED and seen == [adapter.path]
    adapters.adapter_deactivate(adapter=adapter)
    job = jobs.generation_job_create(experiment=draft_experiment, lambdas=[0.4], candidates=2, top_k=1, enqueue=False)
    jobs.generation_job_run(job_id=job.pk, generate=recording)
    assert seen[-1] is None


# --- commands ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--category", "Toys", "--steps", "3"], "unknown category"),
        (["--category", "FMCG", "--steps", "0"], "--steps"),
        (["--category", "FMCG", "--steps", "3", "--lr", "5"], "lr"),
        (["--category", "FMCG", "--resume"], "nothing to resume"),
        (["--category", "FMCG", "--activate"], "--activate needs --evaluate"),
    ],
)
def test_finetune_command_rejects_bad_input(db, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("finetune_generator", *args)
    assert not Adapter.objects.exists()


def test_finetune_command_bad_mode_exits_non_zero(db, capsys):
    from django.core.management import ManagementUtility

    with pytest.raises(SystemExit) as excinfo:
        ManagementUtility(["manage.py", "finetune_generator", "--category", "FMCG", "--mode", "dpo"]).execute()
    assert excinfo.value.code != 0
    assert "invalid choice" in capsys.readouterr().err


def test_finetune_command_async_queues_on_the_generation_queue(
    fmcg, settings, tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    from generator import tasks

    settings.GENERATOR_ADAPTER_DIR = tmp_path
    calls = []
    monkeypatch.setattr(tasks.adapter_train_task, "delay", lambda *a: calls.append(a))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("finetune_generator", "--category", "fmcg", "--mode", "rl", "--steps", "7", "--async")
    adapter = Adapter.objects.get()
    assert calls == [(adapter.pk, False)] and adapter.mode == "rl" and adapter.params["steps"] == 7
    assert tasks.adapter_train_task.queue == "generation"


def test_evaluate_command_rejects_unknown_or_untrained_adapter(fmcg, tmp_path):
    with pytest.raises(CommandError, match="no such adapter"):
        call_command("evaluate_generator", "--adapter", "FMCG:v9")
    adapter = _ready_adapter(fmcg, tmp_path, base=None, tuned=None)
    Adapter.objects.filter(pk=adapter.pk).update(status=Adapter.Status.FAILED)
    with pytest.raises(CommandError, match="only a trained adapter"):
        call_command("evaluate_generator", "--adapter", str(adapter.pk))
    assert selectors.adapter_lookup(reference="fmcg:v1") == adapter


# --- admin -------------------------------------------------------------------------------------


def test_admin_activate_refuses_then_override_activates(fmcg, tmp_path, admin_user, client):
    adapter = _ready_adapter(fmcg, tmp_path, base=0.40, tuned=0.30)
    client.force_login(admin_user)
    url = reverse("admin:generator_adapter_changelist")
    response = client.post(url, {"action": "activate", "_selected_action": [adapter.pk]}, follow=True)
    assert "does not beat" in response.content.decode()
    adapter.refresh_from_db()
    assert not adapter.active
    response = client.post(url, {"action": "activate_override", "_selected_action": [adapter.pk]}, follow=True)
    assert "gate overridden" in response.content.decode()
    adapter.refresh_from_db()
    assert adapter.active
    detail = client.get(reverse("admin:generator_adapter_change", args=[adapter.pk]))
    assert detail.status_code == 200


def test_admin_add_queues_a_training_run(
    fmcg, settings, tmp_path, admin_user, client, monkeypatch, django_capture_on_commit_callbacks
):
    from generator import tasks

    settings.GENERATOR_ADAPTER_DIR = tmp_path
    calls = []
    monkeypatch.setattr(tasks.adapter_train_task, "delay", lambda *a: calls.append(a))
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:generator_adapter_add"),
            {"category": fmcg.pk, "mode": "sft", "steps": 12, "learning_rate": "", "evaluate": "on"},
            follow=True,
        )
    assert response.status_code == 200
    adapter = Adapter.objects.get()
    assert adapter.params["steps"] == 12 and adapter.status == Adapter.Status.QUEUED
    assert calls == [(adapter.pk, True)]
    assert json.dumps(adapter.params)


def test_compare_reports_base_tuned_and_delta_per_metric():
    from generator.evaluation.compare import compare, format_comparison
    from generator.pipeline import GenerationParams

    def fake_evaluate(products, *, adapter=None, **_kwargs):
        reward = 0.5 if adapter else 0.4
        rows = [{"lambda": 0.75, "mean_reward": reward, "cta_rate": 1.0 if adapter else 0.5, "diversity": None}]
        return {
            "categories": {"FMCG": {"products": ["A", "B"], "rows": rows}},
            "model": f"m{adapter or ''}",
            "seconds": 1,
        }

    comparison = compare(
        {"FMCG": []}, adapter="/x/fmcg/v1", lambdas=[0.75], params=GenerationParams(), sweep=fake_evaluate
    )
    metrics = comparison["categories"]["FMCG"]["metrics"]
    assert metrics["mean_reward"] == {"base": 0.4, "tuned": 0.5, "delta": 0.1}
    assert metrics["diversity"]["delta"] is None and comparison["beats_base"] is True
    table = format_comparison(comparison)
    assert "| mean reward R_abs | 0.4000 | 0.5000 | +0.1000 |" in table and "| CTA rate | 50% | 100% | +50% |" in table
    assert "beats the base" in table


def test_train_task_resumes_from_checkpoint_then_evaluates(fmcg, tmp_path, monkeypatch):
    from generator import tasks

    adapter = _ready_adapter(fmcg, tmp_path, base=None, tuned=None)
    calls = []
    monkeypatch.setattr(adapters, "adapter_train", lambda **kw: calls.append(("train", kw)) or adapter)
    monkeypatch.setattr(adapters, "adapter_evaluate", lambda **kw: calls.append(("evaluate", kw["adapter"].pk)))
    assert tasks.adapter_train_task.apply(args=[adapter.pk, True]).get() == Adapter.Status.READY
    assert calls == [("train", {"adapter_id": adapter.pk, "resume": True}), ("evaluate", adapter.pk)]
