from django.core.management.base import BaseCommand, CommandError

from ingest.models import WriteKey
from ingest.writekeys import write_key_revoke


class Command(BaseCommand):
    help = "Revoke a write key by its prefix (the public part shown in the admin); its record and stats stay."

    def add_arguments(self, parser):
        parser.add_argument("prefix", help="The key's prefix: cl_<prefix>_…")

    def handle(self, *args, prefix: str, **options):
        write_key = WriteKey.objects.filter(prefix=prefix.removeprefix("cl_").split("_")[0]).first()
        if write_key is None:
            raise CommandError(f"no write key with prefix {prefix!r}")
        write_key_revoke(write_key=write_key)
        self.stdout.write(
            f"Write key {write_key.name!r} ({write_key.prefix}) revoked at {write_key.revoked_at:%Y-%m-%d %H:%M:%S} UTC"
        )
