from django.core.management.base import BaseCommand, CommandError

from ingest.models import PendingBatch
from ingest.outbox import outbox_due, outbox_redeliver


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
        sent = outbox_redeliver(everything=all, limit=limit)
        pending = PendingBatch.objects.count()
        self.stdout.write(f"{sent} batch(es) sent again; {pending} pending, {outbox_due()} due")
        if sent < limit and (outbox_due() if not all else pending) > sent:
            # The sweep stops at a broker error: what is still due was not sent.
            raise CommandError("the broker refused the batches still due; they stay in the outbox, try again later")
