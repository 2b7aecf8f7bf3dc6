"""Versions of the conversion predictor: refit on logged outcomes, checked on a recent holdout,
and activation (one active version per target and scope).

Refits run from the nightly Celery beat entry, `manage.py refit_predictor` and tests; the admin
activates a version by hand through the same `predictor_activate`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.db import transaction

from catalog.models import Category
from generator import selectors
from generator.models import ConversionPredictor
from generator.predictor import (
    REFIT_PRIOR_STRENGTH,
    TARGETS,
    InsufficientData,
    OutcomeRow,
    evaluate,
    fit_logistic,
    prior_model,
)

logger = logging.getLogger(__name__)


def outcome_rows(
    *, category: Category | None = None, exposed_before: datetime | None = None, exposed_since: datetime | None = None
) -> list[OutcomeRow]:
    """Logged outcomes as predictor rows: features are recomputed from each variant's copy.

    `exposed_before` / `exposed_since` restrict to units first exposed before / since a time.
    """
    from generator.embeddings import embed
    from generator.prompts import category_keywords
    from generator.scorers import copy_features, relevance, text_scores

    outcomes = selectors.variant_outcomes(category=category, exposed_before=exposed_before, exposed_since=exposed_since)
    if not outcomes:
        return []
    copies = embed([o.copy for o in outcomes])
    references = embed([o.product.reference_text for o in outcomes])
    rows: list[OutcomeRow] = []
    for outcome, copy_vec, product_vec in zip(outcomes, copies, references, strict=True):
        scores = text_scores(outcome.copy, category_keywords(outcome.category, outcome.product.keywords))
        features = copy_features(scores, relevance(copy_vec, product_vec))
        rows.append(
            OutcomeRow(features=features, impressions=outcome.impressions, orders=outcome.orders, clicks=outcome.clicks)
        )
    return rows


@dataclass(frozen=True)
class OutcomeSource:
    """Where a refit reads logged outcomes: predictor rows (`rows(category=, exposed_before=,
    exposed_since=)`) and the first and last exposure (`exposure_span(category=)`). The default reads
    the database; tests and simulations pass their own instead of patching module attributes."""

    rows: Callable[..., list[OutcomeRow]]
    exposure_span: Callable[..., tuple[datetime | None, datetime | None]]


LOGGED_OUTCOMES = OutcomeSource(rows=outcome_rows, exposure_span=selectors.outcome_exposure_span)


# A refit must not predict the recent holdout worse than the model in use: log-loss (a proper
# score, sensitive to calibration) may not rise, and AUC (ranking, what the reranker uses) may
# not drop by more than this; AUC over a handful of pieces of copy is coarse, hence the slack.
REFIT_AUC_SLACK = 0.01
REFIT_HOLDOUT_FRACTION = 0.25


def _holdout_check(candidate: dict[str, float | None], current: dict[str, float | None]) -> tuple[bool, str]:
    if candidate["log_loss"] is None or current["log_loss"] is None:
        return True, "no recent holdout data: activated on the training fit alone"
    if candidate["log_loss"] > current["log_loss"] + 1e-9:
        return False, f"holdout log-loss {candidate['log_loss']:.5f} > current {current['log_loss']:.5f}"
    if (
        candidate["auc"] is not None
        and current["auc"] is not None
        and candidate["auc"] < current["auc"] - REFIT_AUC_SLACK
    ):
        return False, f"holdout AUC {candidate['auc']:.3f} < current {current['auc']:.3f} − {REFIT_AUC_SLACK}"
    return True, "not worse than the current model on the recent holdout"


def predictor_refit(
    *,
    category: Category | None = None,
    targets: Sequence[str] = TARGETS,
    min_impressions: int = 1000,
    prior_strength: float = REFIT_PRIOR_STRENGTH,
    activate: bool = True,
    holdout_fraction: float = REFIT_HOLDOUT_FRACTION,
    source: OutcomeSource | None = None,
) -> list[ConversionPredictor]:
    """Fit new predictor versions on logged outcomes, checked on recent data before activation.

    Units are split by first exposure: those in the last `holdout_fraction` of the time span are
    the holdout. A candidate fitted on the older units is scored on the holdout next to the model
    in use (the active version, else the prior), by AUC and log-loss; when it is not worse, the
    model fitted on all data becomes active. Either way the new version is stored with its
    `metrics["holdout"]`, so the admin shows refits that were held back and why.

    Raises InsufficientData (nothing is written) when the logs are too thin to learn from.
    `source`: where the outcomes come from (default: `LOGGED_OUTCOMES`, the database).
    """
    source = source or LOGGED_OUTCOMES
    rows = source.rows(category=category)
    train, holdout = rows, []
    first, last = source.exposure_span(category=category)
    cutoff = None
    if first is not None and last is not None and last > first and holdout_fraction > 0:
        cutoff = last - (last - first) * holdout_fraction
        train = source.rows(category=category, exposed_before=cutoff)
        holdout = source.rows(category=category, exposed_since=cutoff)
    plans = []
    for target in targets:
        prior = prior_model(target)
        final = fit_logistic(
            rows,
            target=target,
            prior=prior,
            prior_strength=prior_strength,
            min_impressions=min_impressions,
        )
        try:
            candidate = fit_logistic(
                train, target=target, prior=prior, prior_strength=prior_strength, min_impressions=1
            ).model
        except InsufficientData:
            candidate = final.model  # everything is recent: the check then compares the full fit
        current = selectors.predictor_for(category=category, target=target)
        candidate_scores = evaluate(candidate, holdout)
        current_scores = evaluate(current, holdout)
        passed, reason = _holdout_check(candidate_scores, current_scores)
        metrics = dict(final.metrics) | {
            "holdout": {
                "cutoff": cutoff.isoformat() if cutoff else None,
                "fraction": holdout_fraction,
                "train_rows": len(train),
                "holdout_rows": candidate_scores["rows"],
                "holdout_impressions": candidate_scores["impressions"],
                "auc": candidate_scores["auc"],
                "log_loss": candidate_scores["log_loss"],
                "current_version": current.version,
                "current_auc": current_scores["auc"],
                "current_log_loss": current_scores["log_loss"],
                "passed": passed,
                "reason": reason,
            },
            "activated": bool(activate and passed),
        }
        plans.append((final, metrics, bool(activate and passed)))
    created: list[ConversionPredictor] = []
    with transaction.atomic():
        for fit, metrics, make_active in plans:
            target = fit.model.target
            predictor = ConversionPredictor.objects.create(
                version=selectors.next_predictor_version(target=target),
                category=category,
                target=target,
                coefficients=dict(fit.model.coefficients),
                feature_names=list(fit.model.feature_names),
                n_samples=fit.n_samples,
                metrics=metrics,
                active=False,
            )
            created.append(predictor_activate(predictor=predictor) if make_active else predictor)
    return created


def predictor_activate(*, predictor: ConversionPredictor) -> ConversionPredictor:
    """Make `predictor` the version the reranker uses for its target and scope (its category, or
    all categories): the other versions of that target and scope are deactivated."""
    with transaction.atomic():
        ConversionPredictor.objects.filter(target=predictor.target, category_id=predictor.category_id).exclude(
            pk=predictor.pk
        ).update(active=False)
        ConversionPredictor.objects.filter(pk=predictor.pk).update(active=True)
    predictor.active = True
    return predictor


def predictor_refit_all(
    *,
    min_impressions: int = 1000,
    prior_strength: float = REFIT_PRIOR_STRENGTH,
    activate: bool = True,
    source: OutcomeSource | None = None,
) -> list[ConversionPredictor]:
    """The nightly refit: one fit per category with enough outcomes, then one for all categories.

    Shoppers of each category respond differently (figures sell electronics, not snacks), and
    `predictor_for` prefers the category's own active version. Each fit is centred on the paper's
    prior, not on the all-category fit: in the closed-loop simulation (README) centring a
    category on the others pulled it towards what sells elsewhere and cost conversions. The
    categories go first so that each is checked against the model in use before this run (an
    all-category fit made a moment earlier has seen their holdout). Categories too thin to fit
    are skipped; raises InsufficientData only when nothing at all could be fitted.
    """
    options = {
        "min_impressions": min_impressions,
        "prior_strength": prior_strength,
        "activate": activate,
        "source": source,
    }
    created: list[ConversionPredictor] = []
    # One transaction: a run that fails halfway (the task retries database errors) leaves no
    # versions behind, so its retry does not check categories against versions it made itself.
    with transaction.atomic():
        for category in Category.objects.order_by("name"):
            try:
                created += predictor_refit(category=category, **options)
            except (InsufficientData, np.linalg.LinAlgError) as exc:
                # A thin or numerically degenerate category must not block the others.
                logger.info("predictor refit for %s skipped: %s", category.name, exc)
        try:
            created += predictor_refit(**options)
        except InsufficientData:
            if not created:
                raise
    return created
