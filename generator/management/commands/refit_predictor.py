"""manage.py refit_predictor [--category NAME] [--min-impressions N] [--async]"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from generator import dispatch, predictor_versions
from generator.management.options import add_async_argument, category_named
from generator.predictor import REFIT_PRIOR_STRENGTH, InsufficientData


class Command(BaseCommand):
    help = "Fit new conversion-predictor versions (CVR and CTR) on the platform's logged outcomes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--category",
            help="Fit on one category only (default: each category with enough data, then all categories together).",
        )
        parser.add_argument(
            "--min-impressions",
            type=int,
            default=1000,
            help="Refuse to fit on fewer impressions in total (default 1000).",
        )
        parser.add_argument(
            "--prior-strength",
            type=float,
            default=REFIT_PRIOR_STRENGTH,
            help=f"Weight of the prior θ in the fit (ridge towards it; default {REFIT_PRIOR_STRENGTH:g}).",
        )
        add_async_argument(parser, what="refit")

    def handle(self, *args, **options) -> None:
        if not options["prior_strength"] > 0:
            raise CommandError(f"--prior-strength must be a positive number, not {options['prior_strength']:g}")
        category = None
        if options["category"]:
            category = category_named(options["category"])
        if options["run_async"]:
            dispatch.predictor_refit_enqueue(
                category_id=category.pk if category else None, min_impressions=options["min_impressions"]
            )
            self.stdout.write("refit queued on the generation queue")
            return
        try:
            fit_options = {"min_impressions": options["min_impressions"], "prior_strength": options["prior_strength"]}
            if category:
                created = predictor_versions.predictor_refit(category=category, **fit_options)
            else:
                created = predictor_versions.predictor_refit_all(**fit_options)
        except InsufficientData as exc:
            raise CommandError(f"not enough logged outcomes: {exc}; the reranker keeps its current predictor") from exc
        for predictor in created:
            metrics = predictor.metrics
            self.stdout.write(
                f"{predictor}: {predictor.n_samples} copies, {metrics['impressions']:.0f} impressions, "
                f"log loss {metrics['log_loss']:.4f} (base rate {metrics['base_rate_log_loss']:.4f})"
            )
            for name, value in predictor.coefficients.items():
                self.stdout.write(f"  {name:>18} {value:+.3f}")
