from django.core.management.base import BaseCommand, CommandError

from ingest.writekeys import write_key_create


class Command(BaseCommand):
    help = "Create a storefront write key and print it once (only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="A label for the storefront or script using the key")

    def handle(self, *args, name: str, **options):
        if not name.strip():
            raise CommandError("name must not be empty")
        write_key, clear = write_key_create(name=name.strip())
        self.stderr.write(f"Write key {write_key.name!r} created; it is shown once, store it now:")
        self.stdout.write(clear)
