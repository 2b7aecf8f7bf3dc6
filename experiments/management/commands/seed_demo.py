from django.core.management.base import BaseCommand

from experiments.demo import demo_seed


class Command(BaseCommand):
    help = "Load the demo catalog and brand rules and create the demo experiments (idempotent)."

    def handle(self, *args, **options):
        report = demo_seed()
        self.stdout.write(f"Catalog: {report.products_loaded} products loaded.")
        if report.experiments_created:
            self.stdout.write(f"Created demo experiments: {', '.join(report.experiments_created)}")
        if report.experiments_existing:
            self.stdout.write(
                f"Demo experiments already present (left as they are): {', '.join(report.experiments_existing)}"
            )
