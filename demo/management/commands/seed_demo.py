from django.core.management.base import BaseCommand, CommandError

from demo.seed import DEMO_DAYS, demo_seed


class Command(BaseCommand):
    help = (
        "Load the demo catalog and brand rules and create the demo experiments (idempotent). With --llm, "
        "each new demo experiment also gets LLM variants from the real generator (about a minute on CPU) and "
        f"{DEMO_DAYS} days of simulated traffic, so the reports have data."
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
            self.stdout.write(f"{key}: LLM variants generated and approved, started, {stored} events simulated")
        for key in report.experiments_without_copy:
            self.stdout.write(f"{key}: no LLM candidate passed the copy guards; left as a draft with its control")
