from django.core.management.base import BaseCommand, CommandError

from demo.seed import DEMO_CATALOG_EXPERIMENT, DEMO_DAYS, demo_seed


class Command(BaseCommand):
    help = (
        "Load the demo catalog and brand rules and create the demo experiments: one per category for one product, "
        f"and {DEMO_CATALOG_EXPERIMENT} over the Apparel range (idempotent). With --llm, each new demo experiment "
        f"also gets LLM copy from the real generator (a few minutes on CPU) and {DEMO_DAYS} days of simulated "
        "traffic, labelled as such in its reports, so the reports have data."
    )

    def add_arguments(self, parser):
        parser.add_argument("--llm", action="store_true", help="generate LLM variants, start, simulate traffic")

    def handle(self, *args, llm: bool = False, **options):
        try:
            report = demo_seed(llm=llm)
        except RuntimeError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Catalog: {report.products_loaded} products loaded.")
        if report.experiments_created:
            self.stdout.write(f"Created demo experiments: {', '.join(report.experiments_created)}")
        if report.experiments_existing:
            self.stdout.write(
                f"Demo experiments already present (left as they are): {', '.join(report.experiments_existing)}"
            )
        for key, stored in report.experiments_with_traffic.items():
            if key == DEMO_CATALOG_EXPERIMENT:
                approved = ", ".join(f"{arm} {n}" for arm, n in report.catalog_approved.items())
                fallback = len(report.catalog_fallback_products)
                self.stdout.write(
                    f"{key}: LLM copy generated, approved where it passed every check ({approved}); "
                    f"{fallback} product(s) show the control copy and are left out of the analysis; "
                    f"started, {stored} events simulated"
                )
                continue
            self.stdout.write(f"{key}: LLM variants generated and approved, started, {stored} events simulated")
        for key in report.experiments_without_copy:
            self.stdout.write(f"{key}: no LLM candidate passed the copy guards; left as a draft with its control")
