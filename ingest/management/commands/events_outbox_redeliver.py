from django.core.management.base import BaseCommand, CommandError

from ingest.models import PendingBatch
from ingest.outbox import BROKER_ERRORS, outbox_due, outbox_redeliver


class Command(BaseCommand):
    help = (
        "Publish again the accepted event batches not stored by their due time (what beat's sweep does); "
        "--all sends every pending batch now, e.g. after a broker was restored from an old snapshot."
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="send every pending batch, due or not")
        parser.add_argument("--limit", type=int, default=500, help="at most this many batches (default 500)")

    def handle(self, *args, all: bool, limit: int, **options):
        if limit < 1:
            raise CommandError("--limit must be at least 1")
        try:
            sent = outbox_redeliver(everything=all, limit=limit, strict=True)
        except BROKER_ERRORS as exc:
            raise CommandError(
                f"the broker refused: {exc}; {PendingBatch.objects.count()} batch(es) stay in the outbox "
                f"({outbox_due()} due), try again later"
            ) from exc
        self.stdout.write(f"{sent} batch(es) sent again; {PendingBatch.objects.count()} pending, {outbox_due()} due")
