import pytest
from django.db import OperationalError

from abplatform.errors import FieldErrors, LifecycleError
from experiments.models import Experiment, Variant
from generator import selectors, services, tasks
from generator.models import Candidate, ConversionPredictor, GenerationJob


@pytest.mark.parametrize(
    ("lambdas", "candidates", "top_k", "field"),
    [
        ([], 8, 3, "lambdas"),
        ([0.2, 1.2], 8, 3, "lambdas"),
        ([-0.1], 8, 3, "lambdas"),
        ([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 8, 3, "lambdas"),
        (["x"], 8, 3, "lambdas"),
        ("0.5", 8, 3, "lambdas"),
        ([0.5, 0.5], 8, 3, "lambdas"),
        ([0.5], 0, 1, "candidates"),
        ([0.5], 33, 3, "candidates"),
        ([0.5], "8", 3, "candidates"),
        ([0.5], 4, 5, "top_k"),
        ([0.5], 4, 0, "top_k"),
    ],
)
def test_input_validation_names_the_bad_field(lambdas, candidates, top_k, field):
    with pytest.raises(FieldErrors) as info:
        services.generation_input_validate(lambdas=lambdas, candidates=candidates, top_k=top_k)
    assert field in info.value.errors


def test_input_validation_accepts_and_rounds():
    assert services.generation_input_validate(lambdas=[0.6, 0, 1], candidates=32, top_k=32) == ([0.6, 0.0, 1.0], 32, 32)


def test_default_lambdas_are_recommended_and_plus_minus_two_tenths_clipped(db):
    from catalog.models import Category

    assert selectors.default_lambdas(category=Category.objects.get(name="Electronics")) == [0.2, 0.4, 0.6]
    fmcg = Category(name="x", recommended_lambda=0.85)
    assert selectors.default_lambdas(category=fmcg) == [0.65, 0.85, 0.95]
    assert selectors.default_lambdas(category=Category(name="y", recommended_lambda=0.1)) == [0.05, 0.1, 0.3]


def test_variant_key():
    assert services.variant_key_for(0.6) == "llm-l060"
    assert services.variant_key_for(0.05) == "llm-l005"
    assert services.variant_key_for(1.0) == "llm-l100"


def test_create_queues_on_commit(draft_experiment, marketer, django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.generation_job_execute, "delay", lambda job_id: sent.append(job_id))
    with django_capture_on_commit_callbacks(execute=True):
        job = services.generation_job_create(experiment=draft_experiment, lambdas=None, user=marketer)
    assert sent == [job.pk]
    assert job.lambdas == [0.2, 0.4, 0.6]  # Electronics: recommended 0.4 ± 0.2
    assert job.status == GenerationJob.Status.QUEUED and job.created_by == marketer and job.seed > 0


def test_only_drafts_can_be_generated_for(make_experiment):
    running = make_experiment("pulse-live", start=True)
    with pytest.raises(LifecycleError, match="draft"):
        services.generation_job_create(experiment=running, lambdas=[0.5], enqueue=False)


def test_job_run_stores_every_candidate_and_one_draft_variant_per_lambda(draft_experiment, stub_pipeline):
    job = services.generation_job_create(
        experiment=draft_experiment, lambdas=[0.4, 0.8], candidates=4, top_k=2, seed=5, enqueue=False
    )
    job = services.generation_job_run(job_id=job.pk)
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error
    assert job.progress == 1.0 and job.finished_at and job.model_version == "stub-model"
    assert job.predictor_version == "prior-v1" and job.prompt_version == "copy-test"
    assert Candidate.objects.filter(job=job).count() == 8
    cheap = Candidate.objects.filter(job=job, text__startswith="Cheap")
    assert all("forbidden word 'cheap'" in c.dropped_reason and c.rank is None for c in cheap)
    variants = {v.key: v for v in draft_experiment.variants.all()}
    assert {"llm-l040", "llm-l080"} <= set(variants)
    new = variants["llm-l080"]
    assert new.source == Variant.Source.LLM and not new.approved and new.lambda_value == 0.8
    assert new.position > max(v.position for v in variants.values() if v.key != "llm-l080") - 1
    best = Candidate.objects.get(job=job, lambda_value=0.8, rank=1)
    assert best.variant == new and best.text == new.copy
    assert [e["variant"] for e in job.summary["lambdas"]] == ["llm-l040", "llm-l080"]


def test_existing_llm_key_gets_new_copy_and_loses_its_approval(draft_experiment, stub_pipeline):
    existing = draft_experiment.variants.get(key="llm-l040")
    assert existing.approved
    job = services.generation_job_create(
        experiment=draft_experiment, lambdas=[0.4], candidates=4, top_k=1, enqueue=False
    )
    services.generation_job_run(job_id=job.pk)
    existing.refresh_from_db()
    assert not existing.approved and existing.source == Variant.Source.LLM
    assert existing.copy == Candidate.objects.get(job=job, rank=1).text
    assert draft_experiment.variants.filter(key="llm-l040").count() == 1


def test_no_variants_when_the_experiment_left_draft_meanwhile(draft_experiment, stub_pipeline):
    job = services.generation_job_create(
        experiment=draft_experiment, lambdas=[0.3], candidates=2, top_k=1, enqueue=False
    )
    Experiment.objects.filter(pk=draft_experiment.pk).update(status=Experiment.Status.PAUSED)
    job = services.generation_job_run(job_id=job.pk)
    assert job.status == GenerationJob.Status.SUCCEEDED
    assert not draft_experiment.variants.filter(key="llm-l030").exists()
    assert "no variant was created" in job.summary["lambdas"][0]["note"]
    assert Candidate.objects.filter(job=job).count() == 2


def test_failure_leaves_a_readable_error_and_no_half_made_variants(draft_experiment, monkeypatch):
    def broken(**kwargs):
        kwargs["progress"](0.5)
        raise RuntimeError("model folder missing")

    monkeypatch.setattr(services, "generate_for_product", broken)
    before = set(draft_experiment.variants.values_list("key", flat=True))
    job = services.generation_job_create(experiment=draft_experiment, lambdas=[0.5], enqueue=False)
    job = services.generation_job_run(job_id=job.pk)
    assert job.status == GenerationJob.Status.FAILED
    assert job.error == "RuntimeError: model folder missing"
    assert set(draft_experiment.variants.values_list("key", flat=True)) == before
    assert not Candidate.objects.filter(job=job).exists()


def test_failure_while_saving_rolls_back_candidates_and_variants(draft_experiment, stub_pipeline, monkeypatch):
    def explode(*args, **kwargs):
        raise ValueError("disk full")

    monkeypatch.setattr(Candidate.objects, "bulk_create", explode)
    job = services.generation_job_create(
        experiment=draft_experiment, lambdas=[0.9], candidates=2, top_k=1, enqueue=False
    )
    job = services.generation_job_run(job_id=job.pk)
    assert job.status == GenerationJob.Status.FAILED and "disk full" in job.error
    assert not draft_experiment.variants.filter(key="llm-l090").exists()


def test_finished_jobs_are_not_run_twice(draft_experiment, stub_pipeline):
    job = services.generation_job_create(
        experiment=draft_experiment, lambdas=[0.5], candidates=2, top_k=1, enqueue=False
    )
    services.generation_job_run(job_id=job.pk)
    again = services.generation_job_run(job_id=job.pk)
    assert again.attempts == 1 and Candidate.objects.filter(job=job).count() == 2


def test_task_retries_database_hiccups_then_fails(draft_experiment, monkeypatch):
    monkeypatch.setattr(
        services, "generate_for_product", lambda **kw: (_ for _ in ()).throw(OperationalError("database is locked"))
    )
    job = services.generation_job_create(experiment=draft_experiment, lambdas=[0.5], enqueue=False)
    from abplatform.celery import app

    app.conf.task_eager_propagates = False  # eager retries re-apply with the app default (the fixture restores it)
    result = tasks.generation_job_execute.apply(args=[job.pk])
    job.refresh_from_db()
    # Eager apply re-runs the retries in-process: after max_retries the job is failed, readably.
    assert job.status == GenerationJob.Status.FAILED and "database is locked" in job.error
    assert job.attempts == tasks.generation_job_execute.max_retries + 1
    assert result.failed()


def test_task_declares_queue_limits_and_acks_late():
    task = tasks.generation_job_execute
    assert task.queue == "generation" and task.acks_late and task.soft_time_limit < task.time_limit
    assert tasks.predictor_refit_task.queue == "generation"


def test_sync_run_for_set_up_commands(draft_experiment, stub_pipeline):
    job = services.generation_run_sync(experiment=draft_experiment, lambdas=[0.75], candidates=3, top_k=2)
    assert job.status == GenerationJob.Status.SUCCEEDED
    assert draft_experiment.variants.filter(key="llm-l075", source="llm", approved=False).exists()


def test_variant_outcomes_read_unit_totals(draft_experiment):
    from django.utils import timezone

    from ingest.models import UnitTotals

    now = timezone.now()
    control = draft_experiment.variants.get(key="control")
    for unit, (imp, clk, orders) in enumerate([(10, 2, 1), (5, 1, 0)]):
        UnitTotals.objects.create(
            experiment=draft_experiment,
            variant=control,
            unit=f"u{unit}",
            impressions=imp,
            clicks=clk,
            orders=orders,
            first_seen=now,
            last_seen=now,
        )
    outcomes = selectors.variant_outcomes()
    assert [(o.variant_id, o.impressions, o.clicks, o.orders) for o in outcomes] == [(control.pk, 15, 3, 1)]
    assert outcomes[0].category == "Electronics" and outcomes[0].copy == control.copy
    assert selectors.variant_outcomes(category=draft_experiment.product.category)
    from catalog.models import Category

    assert selectors.variant_outcomes(category=Category.objects.get(name="FMCG")) == []


def test_variant_outcomes_without_ingestion_tables(monkeypatch, db):
    monkeypatch.setattr(selectors, "_unit_totals_model", lambda: None)
    assert selectors.variant_outcomes() == []


def test_predictor_refit_versions_and_activation(db, monkeypatch):
    from generator.predictor import OutcomeRow

    rows = [
        OutcomeRow(
            features={
                "keyword_strength": k,
                "cta_present": c,
                "cta_density": 0.05 * c,
                "sentiment": 0.3,
                "readability": 0.6,
                "relevance": 0.5,
                "length_fit": 1.0,
                "specificity": 0.0,
                "hype": 0.0,
            },
            impressions=5000,
            orders=int(5000 * (0.02 + 0.03 * k + 0.01 * c)),
            clicks=int(5000 * 0.1),
        )
        for k in (0.0, 0.5, 1.0)
        for c in (0, 1)
    ]
    monkeypatch.setattr(services, "outcome_rows", lambda category=None: rows)
    first = services.predictor_refit()
    second = services.predictor_refit()
    assert {p.target for p in first} == {"cvr", "ctr"}
    assert [p.version for p in second if p.target == "cvr"] == [2]
    assert ConversionPredictor.objects.filter(active=True).count() == 2
    model = selectors.predictor_for(category=None, target="cvr")
    assert model.version == "cvr-v2" and model.coefficients["keyword_strength"] > 0


def test_a_fitted_predictor_puts_its_directives_in_the_jobs_prompts(draft_experiment, monkeypatch):
    from generator import prompts
    from generator.pipeline import PipelineResult

    seen = []

    def capture(**kwargs):
        seen.append(kwargs["params"].directives)
        return PipelineResult(model_version="stub-model", prompt_version="copy-test")

    monkeypatch.setattr(services, "generate_for_product", capture)
    create = dict(experiment=draft_experiment, lambdas=[0.5], candidates=2, top_k=1, seed=1, enqueue=False)
    prior_job = services.generation_job_run(job_id=services.generation_job_create(**create).pk)
    ConversionPredictor.objects.create(
        version=1,
        target="cvr",
        category=draft_experiment.product.category,
        coefficients={"intercept": -3.5, "specificity": 0.4, "hype": -0.05},
        feature_names=["specificity", "hype"],
        active=True,
    )
    fitted_job = services.generation_job_run(job_id=services.generation_job_create(**create).pk)
    figures = prompts.LEARNED_DIRECTIVES["specificity"][1]
    assert seen == [(), (figures,)]
    assert prior_job.params["directives"] == [] and fitted_job.params["directives"] == [figures]
    assert fitted_job.predictor_version == "cvr-v1"


def test_refit_all_fits_each_category_with_data_then_all_categories(db, monkeypatch):
    from catalog.models import Category
    from generator.predictor import OutcomeRow, prior_model

    electronics = Category.objects.get(name="Electronics")

    def rows(category=None, **_):
        if category is not None and category != electronics:
            return []  # only Electronics has logged copy
        return [
            OutcomeRow(
                features={name: 0.5 for name in prior_model().feature_names} | {"specificity": spec},
                impressions=20000,
                orders=int(20000 * (0.02 + 0.03 * spec)),
                clicks=2000,
            )
            for spec in (0.0, 0.33, 0.67, 1.0)
        ]

    monkeypatch.setattr(services, "outcome_rows", rows)
    monkeypatch.setattr(selectors, "outcome_exposure_span", lambda category=None: (None, None))
    created = services.predictor_refit_all(min_impressions=1000)
    scopes = sorted((p.target, p.category.name if p.category else "all") for p in created)
    assert scopes == [("ctr", "Electronics"), ("ctr", "all"), ("cvr", "Electronics"), ("cvr", "all")]
    assert all(p.active for p in created)
    assert selectors.predictor_for(category=electronics).version == "cvr-v1"  # the category's own
    assert selectors.predictor_for(category=Category.objects.get(name="FMCG")).version == "cvr-v2"
    own = next(p for p in created if p.target == "cvr" and p.category == electronics)
    assert own.coefficients["specificity"] > 0.1  # figures convert here; the prior knew nothing of it
    assert tasks.predictor_refit_task.apply().get() == ["cvr-v3", "ctr-v3", "cvr-v4", "ctr-v4"]


def test_refit_all_skips_a_degenerate_category_and_rolls_back_on_a_database_error(db, monkeypatch):
    import numpy as np
    from django.db import OperationalError

    from generator.predictor import OutcomeRow, prior_model

    real = services.predictor_refit

    def flaky(*, category=None, fail=False, **options):
        if category is not None and category.name == "Apparel":
            raise np.linalg.LinAlgError("singular matrix")
        if category is not None and category.name == "FMCG" and fail:
            raise OperationalError("connection lost")
        return real(category=category, **options)

    features = {name: 0.5 for name in prior_model().feature_names}
    rows = [
        OutcomeRow(features=features | {"cta_present": c}, impressions=5000, orders=100 + 50 * c, clicks=500)
        for c in (0, 1)
    ]
    monkeypatch.setattr(services, "outcome_rows", lambda category=None, **_: rows)
    monkeypatch.setattr(selectors, "outcome_exposure_span", lambda category=None: (None, None))
    monkeypatch.setattr(services, "predictor_refit", flaky)
    created = services.predictor_refit_all(min_impressions=100)
    scopes = {p.category.name if p.category else "all" for p in created}
    assert "Apparel" not in scopes and {"Electronics", "FMCG", "all"} <= scopes  # the others went on

    # A database error mid-run (the task retries it) leaves nothing of that run behind.
    before = ConversionPredictor.objects.count()
    monkeypatch.setattr(services, "predictor_refit", lambda **kw: flaky(**kw, fail=True))
    with pytest.raises(OperationalError):
        services.predictor_refit_all(min_impressions=100)
    assert ConversionPredictor.objects.count() == before


def test_predictor_refit_refuses_without_data(db):
    with pytest.raises(services.InsufficientData):
        services.predictor_refit()
    assert tasks.predictor_refit_task.apply().get() == []


def test_predictor_for_prefers_category_then_global_then_prior(db):
    from catalog.models import Category

    electronics = Category.objects.get(name="Electronics")
    assert selectors.predictor_for(category=electronics).version == "prior-v1"
    ConversionPredictor.objects.create(version=1, target="cvr", coefficients={"intercept": -3}, feature_names=[])
    assert selectors.predictor_for(category=electronics).version == "cvr-v1"
    ConversionPredictor.objects.create(version=2, target="cvr", category=electronics, coefficients={"intercept": -2})
    assert selectors.predictor_for(category=electronics).version == "cvr-v2"


def test_few_shot_examples_prefer_approved_copy_of_the_category(draft_experiment, product):
    from catalog.models import Category, Product

    other = Product.objects.create(
        sku="ELEC-T02", title="Other earbuds", brand="Voltora", category=product.category, price="10.00"
    )
    examples = selectors.few_shot_examples(category=product.category, exclude_product=other, limit=2)
    approved_copies = set(draft_experiment.variants.filter(is_control=False).values_list("copy", flat=True))
    assert {e.text for e in examples} <= approved_copies and len(examples) == 2
    # The product's own copy is never its own example; without any, built-in examples serve.
    fallback = selectors.few_shot_examples(category=Category.objects.get(name="FMCG"))
    assert fallback and all(e.category == "FMCG" for e in fallback)
