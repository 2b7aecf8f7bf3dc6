"""Services for fine-tuned adapters: create a training run, train (SFT or RL), evaluate, activate.

The training engine is the `generator.finetune` package; these functions gather its data from the
database, record each run as an `Adapter` row and enforce the evaluation gate. The command,
the Celery task and the admin call them and nothing else.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from abplatform.errors import FieldErrors, LifecycleError
from catalog.models import Category, Product
from generator import dispatch, selectors
from generator.models import Adapter

logger = logging.getLogger(__name__)

MAX_STEPS = 20_000
# Settings of a run that a caller may choose (everything else keeps finetune.TrainConfig's default).
TUNABLE = ("lr", "batch_size", "seed", "checkpoint_every", "prompts_per_step", "group_size", "max_new_tokens")


class AdapterGateError(LifecycleError):
    """Activation refused: the adapter has no evaluation, or it does not beat the base on mean reward."""


def adapter_dir(*, category: Category, version: int) -> Path:
    root = Path(getattr(settings, "GENERATOR_ADAPTER_DIR", Path(settings.VAR_DIR) / "adapters"))
    return root / (slugify(category.name) or f"category-{category.pk}") / f"v{version}"


def adapter_params_validate(*, mode: Any, steps: Any, params: dict[str, Any] | None) -> dict[str, Any]:
    errors: dict[str, str] = {}
    if mode not in Adapter.Mode.values:
        errors["mode"] = f"must be one of {', '.join(Adapter.Mode.values)}"
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        errors["steps"] = f"an integer from 1 to {MAX_STEPS} is required"
    clean: dict[str, Any] = {}
    for key, value in (params or {}).items():
        if key not in TUNABLE:
            errors[key] = f"unknown setting; choose from {', '.join(TUNABLE)}"
        elif value is None:
            continue
        elif key == "lr":
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < float(value) <= 0.1:
                errors[key] = "a learning rate in (0, 0.1] is required"
            else:
                clean[key] = float(value)
        elif isinstance(value, bool) or not isinstance(value, int) or value < (0 if key == "checkpoint_every" else 1):
            errors[key] = "a positive integer is required"
        else:
            clean[key] = value
    if errors:
        raise FieldErrors(errors)
    return clean


def adapter_training_create(
    *,
    category: Category,
    mode: str,
    steps: int,
    params: dict[str, Any] | None = None,
    user: AbstractBaseUser | None = None,
    enqueue: bool = True,
    evaluate: bool = True,
) -> Adapter:
    """A queued training run (the next version of the category's adapters), sent to the
    `generation` queue once the row is committed."""
    clean = adapter_params_validate(mode=mode, steps=steps, params=params)
    with transaction.atomic():
        # Lock the category so two runs started at once do not take the same version.
        category = Category.objects.select_for_update().get(pk=category.pk)
        version = selectors.next_adapter_version(category=category)
        while (adapter_dir(category=category, version=version) / "adapter_config.json").exists():
            version += 1  # a folder left by another database (or a deleted row): never train over it
        adapter = Adapter.objects.create(
            category=category,
            version=version,
            mode=mode,
            path=str(adapter_dir(category=category, version=version)),
            base_model=settings.GENERATOR_MODEL,
            params={"steps": steps, "lam": float(category.recommended_lambda), **clean},
            created_by=user if user is not None and user.is_authenticated else None,
        )
    if enqueue:
        dispatch.adapter_train_enqueue(adapter_id=adapter.pk, evaluate=evaluate)
    return adapter


def adapter_resumable(*, category: Category, mode: str) -> Adapter | None:
    """The latest unfinished run of the category and mode (interrupted, failed or never started)."""
    return (
        Adapter.objects.filter(category=category, mode=mode)
        .exclude(status=Adapter.Status.READY)
        .order_by("-version")
        .first()
    )


def _config_for(adapter: Adapter) -> Any:
    from generator.finetune.config import TrainConfig

    params = dict(adapter.params or {})
    tunable = {k: params[k] for k in TUNABLE if params.get(k) is not None}
    return TrainConfig(
        mode=adapter.mode,
        steps=int(params.get("steps", 50)),
        lam=float(params.get("lam", adapter.category.recommended_lambda)),
        **tunable,
    )


def adapter_train(
    *,
    adapter_id: int,
    resume: bool = False,
    progress: Callable[[int, int, dict[str, float]], None] | None = None,
) -> Adapter:
    """Train the adapter's run to its step count; with `resume`, from its last checkpoint.

    A failure is recorded on the row (status failed, the error) and the row is returned; the
    checkpoint stays, so the run can be resumed.
    """
    from generator import backend
    from generator.finetune import dataset, rl, sft

    adapter = Adapter.objects.select_related("category").get(pk=adapter_id)
    if adapter.status == Adapter.Status.READY:
        return adapter
    config = _config_for(adapter)
    started = time.perf_counter()
    Adapter.objects.filter(pk=adapter.pk).update(status=Adapter.Status.TRAINING, error="")

    def on_step(step: int, total: int, row: dict[str, float]) -> None:
        Adapter.objects.filter(pk=adapter.pk).update(steps_done=step)
        if progress:
            progress(step, total, row)

    try:
        # A private copy of the base model: LoRA layers are injected into it in place.
        loaded = backend.load_model(adapter.base_model or None, reuse=False)
        out_dir = Path(adapter.path)
        if adapter.mode == Adapter.Mode.SFT:
            examples = dataset.finetune_examples(category=adapter.category)
            result = sft.train_sft(loaded, examples, config=config, out_dir=out_dir, resume=resume, progress=on_step)
            data = {"examples": len(examples), "from_platform": sum(e.source != "seed" for e in examples)}
        else:
            prompts = dataset.rl_prompt_set(category=adapter.category)
            reward_fn = partial(
                rl.group_rewards,
                lam=config.lam,
                predictor=selectors.predictor_for(category=adapter.category, target="cvr"),
                compliance_weight=config.compliance_weight,
                dedupe_threshold=settings.GENERATOR_DEDUPE_THRESHOLD,
                relevance_threshold=settings.GENERATOR_RELEVANCE_THRESHOLD,
            )
            result = rl.train_rl(
                loaded, prompts, config=config, reward_fn=reward_fn, out_dir=out_dir, resume=resume, progress=on_step
            )
            data = {"prompts": len(prompts)}
    except Exception as exc:
        logger.exception("training adapter %s failed", adapter.pk)
        Adapter.objects.filter(pk=adapter.pk).update(
            status=Adapter.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:4000]
        )
        adapter.refresh_from_db()
        return adapter
    metrics = dict(adapter.metrics or {})
    metrics["training"] = result.summary() | data | {"wall_seconds": round(time.perf_counter() - started, 1)}
    Adapter.objects.filter(pk=adapter.pk).update(
        status=Adapter.Status.READY,
        steps_done=result.steps_done,
        params=dict(adapter.params or {}) | {"config": config.as_dict(), "model_version": loaded.version},
        metrics=metrics,
        finished_at=timezone.now(),
    )
    adapter.refresh_from_db()
    return adapter


def adapter_evaluate(
    *,
    adapter: Adapter,
    products: int = 3,
    candidates: int = 6,
    top_k: int = 3,
    lambdas: list[float] | None = None,
    seed: int = 0,
    max_new_tokens: int | None = None,
    log: Callable[[str], None] = lambda _msg: None,
) -> dict[str, Any]:
    """Base vs adapter on the category's held-out products (same prompts and seeds); the
    comparison is stored on the row as metrics["evaluation"] and returned."""
    from generator.evaluation.compare import compare
    from generator.evaluation.products import products_from_db
    from generator.pipeline import GenerationParams

    if adapter.status != Adapter.Status.READY:
        raise LifecycleError(f"adapter {adapter} is {adapter.status}: only a trained adapter can be evaluated")
    category = adapter.category
    held_out = products_from_db(categories=[category.name], per_category=products)
    if not held_out.get(category.name):
        raise LifecycleError(f"no held-out products in {category.name} (every product is in an experiment)")
    params = GenerationParams.from_settings(
        candidates=candidates, top_k=top_k, seed=seed, max_new_tokens=max_new_tokens
    )

    def predictors(name: str, target: str) -> Any:
        return selectors.predictor_for(category=category, target=target)

    def examples(name: str, title: str) -> Any:
        product = Product.objects.filter(category=category, title=title).first()
        return selectors.few_shot_examples(category=category, exclude_product=product, seed=seed)

    comparison = compare(
        held_out,
        adapter=adapter.path,
        lambdas=lambdas or [float(category.recommended_lambda)],
        params=params,
        predictors=predictors,
        examples=examples,
        log=log,
    )
    comparison["evaluated_at"] = timezone.now().isoformat()
    metrics = dict(adapter.metrics or {}) | {"evaluation": comparison}
    Adapter.objects.filter(pk=adapter.pk).update(metrics=metrics)
    adapter.metrics = metrics
    return comparison


def adapter_gate(*, adapter: Adapter) -> tuple[bool, str]:
    """(passes, why): the adapter must be trained, evaluated, and beat the base on mean reward.

    The mean reward counts a candidate that fails a copy guard as worthless
    (`generator.finetune.reward`), so an adapter that writes more unsupported claims loses reward
    for it; the guard pass rates of base and adapter are quoted in `why`. An evaluation stored
    before the guards were scored (no pass rates) does not pass: evaluate the adapter again.
    """
    if adapter.status != Adapter.Status.READY:
        return False, f"it is {adapter.status}, not trained"
    evaluation = adapter.evaluation
    reward = evaluation.get("mean_reward") or {}
    base, tuned = reward.get("base"), reward.get("tuned")
    if base is None or tuned is None:
        return False, "it has no evaluation yet (run evaluate_generator --adapter)"
    passing = evaluation.get("guard_pass_rate") or {}
    base_pass, tuned_pass = passing.get("base"), passing.get("tuned")
    if base_pass is None or tuned_pass is None:
        return False, "its evaluation predates the copy guards (run evaluate_generator --adapter again)"
    rates = f"guard pass rate {tuned_pass:.0%} vs the base's {base_pass:.0%}"
    if tuned <= base:
        return False, f"its mean reward {tuned:.4f} does not beat the base's {base:.4f} ({rates})"
    return True, f"mean reward {tuned:.4f} vs the base's {base:.4f} ({rates})"


def adapter_activate(*, adapter: Adapter, override: bool = False, user: AbstractBaseUser | None = None) -> Adapter:
    """Make the adapter its category's active one; refused by the evaluation gate unless `override`.

    An override still needs a trained adapter whose files exist; it is recorded on the row.
    """
    if adapter.status != Adapter.Status.READY:
        raise AdapterGateError(f"{adapter.category} {adapter.label} cannot be activated: it is {adapter.status}")
    if not Path(adapter.path, "adapter_config.json").exists():
        raise AdapterGateError(f"{adapter.category} {adapter.label} has no files at {adapter.path}")
    passes, why = adapter_gate(adapter=adapter)
    if not passes and not override:
        raise AdapterGateError(
            f"{adapter.category} {adapter.label} was not activated: {why}. Use the override to activate it anyway."
        )
    with transaction.atomic():
        Adapter.objects.filter(category_id=adapter.category_id, active=True).exclude(pk=adapter.pk).update(active=False)
        metrics = dict(adapter.metrics or {})
        metrics["activation"] = {
            "at": timezone.now().isoformat(),
            "by": getattr(user, "username", "") if user is not None else "",
            "override": bool(override and not passes),
            "gate": why,
        }
        Adapter.objects.filter(pk=adapter.pk).update(active=True, metrics=metrics)
    adapter.refresh_from_db()
    return adapter


def adapter_deactivate(*, adapter: Adapter) -> Adapter:
    """Back to the base model for the category."""
    Adapter.objects.filter(pk=adapter.pk).update(active=False)
    adapter.refresh_from_db()
    return adapter
