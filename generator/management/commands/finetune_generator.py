"""manage.py finetune_generator --category FMCG --mode sft|rl --steps N [--resume] [--evaluate] [--activate]"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from abplatform.errors import FieldErrors, LifecycleError
from generator import adapters
from generator.management.options import add_async_argument, category_named
from generator.models import Adapter


class Command(BaseCommand):
    help = (
        "Fine-tune a LoRA adapter of the copy model for one category: SFT with the multi-objective loss, "
        "or RL on the reranker's reward. Checkpoints as it goes; --resume continues an interrupted run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--category", required=True, help="Category name (FMCG, Apparel, Electronics, ...).")
        parser.add_argument("--mode", choices=Adapter.Mode.values, default=Adapter.Mode.SFT)
        parser.add_argument("--steps", type=int, default=50, help="Optimizer steps (default 50).")
        parser.add_argument(
            "--resume",
            action="store_true",
            help="Continue the category's latest unfinished run of this mode from its checkpoint.",
        )
        parser.add_argument("--lr", type=float, default=None, help="Learning rate (default 3e-4 SFT, 1e-4 RL).")
        parser.add_argument("--batch-size", type=int, default=None, help="SFT examples per step (default 4).")
        parser.add_argument("--group-size", type=int, default=None, help="RL samples per prompt (default 4).")
        parser.add_argument("--prompts-per-step", type=int, default=None, help="RL prompts per step (default 2).")
        parser.add_argument("--max-new-tokens", type=int, default=None, help="RL sample length (default 40).")
        parser.add_argument("--checkpoint-every", type=int, default=None, help="Steps between checkpoints (10).")
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument(
            "--evaluate",
            action="store_true",
            help="After training, compare with the base model on held-out products (stored on the adapter).",
        )
        parser.add_argument("--eval-products", type=int, default=3, help="Held-out products for --evaluate.")
        parser.add_argument("--eval-candidates", type=int, default=6, help="Candidates per product for --evaluate.")
        parser.add_argument(
            "--activate", action="store_true", help="Activate the adapter if its evaluation beats the base model."
        )
        add_async_argument(parser, what="run")

    def handle(self, *args, **options) -> None:
        category = category_named(options["category"], list_known=True)
        if options["steps"] < 1:
            raise CommandError("--steps must be at least 1")
        if options["activate"] and not options["evaluate"]:
            raise CommandError("--activate needs --evaluate: the gate compares the adapter with the base model")
        params = {
            "lr": options["lr"],
            "batch_size": options["batch_size"],
            "group_size": options["group_size"],
            "prompts_per_step": options["prompts_per_step"],
            "max_new_tokens": options["max_new_tokens"],
            "checkpoint_every": options["checkpoint_every"],
            "seed": options["seed"],
        }
        if options["resume"]:
            adapter = adapters.adapter_resumable(category=category, mode=options["mode"])
            if adapter is None:
                raise CommandError(f"nothing to resume: {category} has no unfinished {options['mode']} run")
            self.stdout.write(f"resuming {adapter} from step {adapter.steps_done}")
        else:
            try:
                with transaction.atomic():
                    adapter = adapters.adapter_training_create(
                        category=category,
                        mode=options["mode"],
                        steps=options["steps"],
                        params=params,
                        enqueue=options["run_async"],
                        evaluate=options["evaluate"],
                    )
            except FieldErrors as exc:
                raise CommandError(str(exc)) from exc
            if options["run_async"]:
                self.stdout.write(f"{adapter} queued on the generation queue ({adapter.path})")
                return
        self._train(adapter, resume=options["resume"])
        adapter.refresh_from_db()
        training = adapter.metrics.get("training", {})
        self.stdout.write(
            f"{adapter}: {training.get('steps')} steps in {training.get('seconds')} s; "
            f"first {training.get('first')}; last {training.get('last')}; saved to {adapter.path}"
        )
        if options["evaluate"]:
            self._evaluate(adapter, products=options["eval_products"], candidates=options["eval_candidates"])
        if options["activate"]:
            try:
                adapters.adapter_activate(adapter=adapter)
            except LifecycleError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"{adapter.category} now generates with {adapter.label}")

    def _train(self, adapter: Adapter, *, resume: bool) -> None:
        from tqdm import tqdm

        total = int(adapter.params.get("steps", 0))
        bar = tqdm(
            total=total,
            initial=adapter.steps_done if resume else 0,
            desc=f"{adapter.category} {adapter.label} ({adapter.mode})",
            file=sys.stderr,
        )

        def progress(step: int, _total: int, row: dict[str, float]) -> None:
            bar.n = step
            bar.set_postfix({k: v for k, v in row.items() if k in ("loss", "nll", "reward")}, refresh=False)
            bar.refresh()

        try:
            trained = adapters.adapter_train(adapter_id=adapter.pk, resume=resume, progress=progress)
        finally:
            bar.close()
        if trained.status != Adapter.Status.READY:
            raise CommandError(
                f"training {trained} failed: {trained.error} (run again with --resume to continue from the checkpoint)"
            )

    def _evaluate(self, adapter: Adapter, *, products: int, candidates: int) -> None:
        from generator.evaluation.compare import format_comparison

        try:
            comparison = adapters.adapter_evaluate(
                adapter=adapter,
                products=products,
                candidates=candidates,
                top_k=min(3, candidates),
                log=lambda msg: self.stderr.write(msg),
            )
        except LifecycleError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(format_comparison(comparison))
