"""Take report snapshots now (what the hourly beat task does), or backfill them from raw events."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from analytics.snapshots import snapshot_backfill, snapshot_take
from experiments.models import Experiment


class Command(BaseCommand):
    help = (
        "Store today's report snapshot of the given experiments (default: every running one). With --backfill, "
        "first rebuild the daily snapshots that are missing from the raw events (--replace: rebuild all days)."
    )

    def add_arguments(self, parser):
        parser.add_argument("keys", nargs="*", help="experiment keys (default: all running experiments)")
        parser.add_argument("--backfill", action="store_true", help="fill missing days from the raw events")
        parser.add_argument("--replace", action="store_true", help="with --backfill: rebuild every day")

    def handle(self, *args, keys: list[str], backfill: bool, replace: bool, **options):
        if replace and not backfill:
            raise CommandError("--replace only applies with --backfill")
        if keys:
            experiments = list(Experiment.objects.filter(key__in=keys))
            missing = sorted(set(keys) - {e.key for e in experiments})
            if missing:
                raise CommandError(f"unknown experiment(s): {', '.join(missing)}")
        else:
            experiments = list(Experiment.objects.filter(status=Experiment.Status.RUNNING))
        for experiment in experiments:
            written = snapshot_backfill(experiment=experiment, replace=replace) if backfill else 0
            snapshot = snapshot_take(experiment=experiment)
            note = f", {written} day(s) backfilled from raw events" if backfill else ""
            self.stdout.write(f"{experiment.key}: snapshot of {snapshot.day}{note}")
        if not experiments:
            self.stdout.write("No running experiment.")
