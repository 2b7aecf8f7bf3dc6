from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from catalog.services import CSV_HEADER, CatalogFileError, products_import_csv


class Command(BaseCommand):
    help = f"Create or update products from a CSV file with header {','.join(CSV_HEADER)}."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)

    def handle(self, *args, path: Path, **options):
        try:
            report = products_import_csv(path=path)
        except CatalogFileError as exc:
            raise CommandError(str(exc)) from None
        for line, reason in report.errors:
            self.stderr.write(f"line {line}: {reason}")
        self.stdout.write(f"{report.created} created, {report.updated} updated, {len(report.errors)} rejected")
        for name in report.categories_created:
            self.stdout.write(
                f"new category {name} (default λ {settings.COPYLIFT_DEFAULT_LAMBDA:g}; edit it in the admin)"
            )
        if report.errors:
            raise CommandError(f"{len(report.errors)} row(s) rejected (the valid rows were loaded)")
