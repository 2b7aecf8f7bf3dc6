"""manage.py evaluate_generator --categories FMCG,Apparel --lambdas 0.2,0.4,0.6,0.8 --products 3 --out DIR

Per category and λ: the copy guards' pass rate over every sampled candidate (and the share
failing each guard), the share of products that got a variant, and the selected copy's scores,
next to the control copy and the template writer's copy; the selected texts are in the JSON.
`--csv PATH` evaluates the products of that CSV (e.g. tests/generator/data/heldout_products.csv)
instead of the database's held-out ones; `--prompt v3` generates without openers and grounded
decoding, `--prompt v2` also without the facts in the prompt (for comparison).

With --adapter ID|CATEGORY:vN: base model vs that fine-tuned adapter on the category's held-out
products (same prompts and seeds), stored on the adapter for the activation gate.
"""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from generator.evaluation.compare import format_comparison
from generator.evaluation.products import products_from_csv, products_from_db
from generator.evaluation.report import format_table, write_report
from generator.evaluation.sweep import evaluate
from generator.pipeline import GenerationParams
from generator.predictor import LogisticModel, prior_model
from generator.prompts import FewShotExample


def _floats(raw: str) -> list[float]:
    return [float(v) for v in raw.split(",") if v.strip()]


class Command(BaseCommand):
    help = "Generate copy for held-out demo products at several λ and write the paper's evaluation tables."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--categories", default="", help="Comma-separated category names (default: all).")
        parser.add_argument(
            "--lambdas", default="", help="Default 0.2,0.4,0.6,0.8; with --adapter, the category's recommended λ."
        )
        parser.add_argument(
            "--adapter",
            default="",
            help="Compare the base model with this adapter (an id or CATEGORY:vN, e.g. FMCG:v2) and store the result.",
        )
        parser.add_argument("--products", type=int, default=3, help="Held-out products per category.")
        parser.add_argument("--candidates", type=int, default=6, help="Candidates per product and λ.")
        parser.add_argument("--top-k", type=int, default=3)
        parser.add_argument("--max-new-tokens", type=int, default=None)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--max-rounds", type=int, default=None, help="Batches per λ at most while none passes (default 3)."
        )
        parser.add_argument(
            "--prompt",
            choices=("v4", "v3", "v2"),
            default="v4",
            help="v4 (default): facts in the prompt, openers naming the product, grounded decoding; v3: facts "
            "only; v2: none of them (v3 and v2 for comparison).",
        )
        parser.add_argument(
            "--csv",
            default="",
            help="Catalog CSV to evaluate instead of the database's held-out products (without it and with an "
            "empty database: catalog/fixtures/demo_catalog.csv).",
        )
        parser.add_argument("--out", default="var/evaluation", help="Output folder.")

    def handle(self, *args, **options) -> None:
        from catalog.services import DEMO_CATALOG, DEMO_GUIDELINES

        raw_lambdas = options["lambdas"].strip() or ("" if options["adapter"] else "0.2,0.4,0.6,0.8")
        try:
            lambdas = _floats(raw_lambdas)
        except ValueError as exc:
            raise CommandError(f"--lambdas: {exc}") from exc
        if (raw_lambdas and not lambdas) or any(not 0 <= v <= 1 for v in lambdas):
            raise CommandError("--lambdas: give numbers in [0, 1], e.g. 0.2,0.4,0.6,0.8")
        categories = [c.strip() for c in options["categories"].split(",") if c.strip()] or None
        if options["top_k"] > options["candidates"]:
            raise CommandError("--top-k cannot exceed --candidates")
        if options["adapter"]:
            self._compare(options, lambdas)
            return
        params = GenerationParams.from_settings(
            candidates=options["candidates"],
            top_k=options["top_k"],
            seed=options["seed"],
            max_new_tokens=options["max_new_tokens"],
        )
        prompt = options["prompt"]
        params = replace(
            params, facts_in_prompt=prompt != "v2", openers=prompt == "v4", grounded_decoding=prompt == "v4"
        )
        if options["max_rounds"] is not None:
            if options["max_rounds"] < 1:
                raise CommandError("--max-rounds must be at least 1")
            params = replace(params, max_rounds=options["max_rounds"])
        products, source, db_ok = {}, "database", True
        try:
            if not options["csv"]:
                products = products_from_db(categories=categories, per_category=options["products"])
            else:
                from catalog.models import Category

                Category.objects.exists()  # DatabaseError without a migrated database
        except DatabaseError:
            db_ok = False  # no migrated database at all: the CSV path below still works
        if not any(products.values()):
            source = Path(options["csv"]) if options["csv"] else DEMO_CATALOG
            if not source.exists():
                raise CommandError(f"no products in the database and no catalog CSV at {source}")
            products = products_from_csv(
                path=source,
                guidelines_path=DEMO_GUIDELINES,
                categories=categories,
                per_category=options["products"],
                keywords=self._category_keywords() if db_ok else {},
            )
        if not any(products.values()):
            raise CommandError(f"no products found for categories {categories or 'any'}")
        self.stdout.write(f"products from {source}: " + ", ".join(f"{c} {len(p)}" for c, p in products.items()))
        report = evaluate(
            products,
            lambdas=lambdas,
            params=params,
            predictors=self._predictors() if db_ok else None,
            examples=self._examples(),
            log=lambda msg: self.stderr.write(msg),
        )
        report["source"] = str(source)
        report["prompt"] = options["prompt"]
        json_path, html_path = write_report(report, Path(options["out"]))
        self.stdout.write(format_table(report))
        self.stdout.write(f"\nwrote {json_path} and {html_path} in {report['seconds']:.0f} s")

    @staticmethod
    def _category_keywords() -> dict[str, list[str]]:
        from catalog.models import Category

        try:
            return {c.name: list(c.keywords or []) for c in Category.objects.all()}
        except DatabaseError:
            return {}

    @staticmethod
    def _predictors():
        from catalog.models import Category
        from generator.selectors import predictor_for

        def lookup(category: str, target: str) -> LogisticModel:
            try:
                return predictor_for(category=Category.objects.filter(name=category).first(), target=target)
            except DatabaseError:
                return prior_model(target)

        return lookup

    @staticmethod
    def _examples():
        from catalog.models import Category, Product
        from generator.corpus import seed_corpus_examples
        from generator.prompt_examples import builtin_examples
        from generator.selectors import few_shot_examples

        def lookup(category: str, title: str) -> list[FewShotExample]:
            try:
                row = Category.objects.filter(name=category).first()
                if row is not None:
                    product = Product.objects.filter(title=title).first()
                    return few_shot_examples(category=row, exclude_product=product)
            except DatabaseError:
                pass  # no migrated database: the seed corpus file still serves
            corpus = [e for e in seed_corpus_examples(category=category) if e.title != title]
            return random.Random(title).sample(corpus, k=2) if len(corpus) >= 2 else builtin_examples(category)

        return lookup

    def _compare(self, options: dict, lambdas: list[float]) -> None:
        import json

        from generator import adapters
        from generator.models import Adapter
        from generator.selectors import adapter_lookup

        try:
            adapter = adapter_lookup(reference=options["adapter"])
        except (Adapter.DoesNotExist, DatabaseError) as exc:
            raise CommandError(f"--adapter {options['adapter']!r}: no such adapter ({exc})") from exc
        try:
            comparison = adapters.adapter_evaluate(
                adapter=adapter,
                products=options["products"],
                candidates=options["candidates"],
                top_k=options["top_k"],
                lambdas=lambdas or None,
                seed=options["seed"],
                max_new_tokens=options["max_new_tokens"],
                log=lambda msg: self.stderr.write(msg),
            )
        except adapters.LifecycleError as exc:
            raise CommandError(str(exc)) from exc
        out = Path(options["out"])
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"adapter-{adapter.category.name.lower()}-{adapter.label}.json"
        path.write_text(json.dumps(comparison, indent=2, default=str), encoding="utf-8")
        self.stdout.write(format_comparison(comparison))
        passes, why = adapters.adapter_gate(adapter=adapter)
        self.stdout.write(
            f"\ngate: {'passes' if passes else 'refuses'} ({why}); stored on {adapter}; wrote {path} "
            f"in {comparison['seconds']:.0f} s"
        )
