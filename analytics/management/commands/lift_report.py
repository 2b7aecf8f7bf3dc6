"""Print or save an experiment's lift report as JSON, CSV or a self-contained HTML page."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from analytics import services
from analytics.report.csv_export import report_csv
from analytics.report.options import CORRECTIONS, MAX_CUPED_LOOKBACK, SEGMENTS, SEQUENTIAL_METHODS, ReportOptions
from experiments.models import Experiment


class Command(BaseCommand):
    help = (
        "Lift report of experiment KEY as JSON (the API's), CSV, or HTML (the report page with plotly.js, styles "
        "and data inline: one file to share by mail). Missing daily snapshots are backfilled from the raw events first."
    )

    def add_arguments(self, parser):
        parser.add_argument("key", help="experiment key")
        parser.add_argument("--format", choices=("json", "csv", "html"), default="json")
        parser.add_argument("--output", "-o", type=Path, help="write to this file instead of standard output")
        parser.add_argument("--sequential-method", choices=SEQUENTIAL_METHODS)
        parser.add_argument("--correction", choices=CORRECTIONS)
        parser.add_argument("--segment", choices=SEGMENTS, help="break every metric down by this unit attribute")
        parser.add_argument(
            "--cuped-lookback-days",
            type=int,
            metavar="DAYS",
            help=f"CUPED's covariate window before each unit's first exposure, 0 (off) to {MAX_CUPED_LOOKBACK} "
            "(default: COPYLIFT_REPORT_CUPED_LOOKBACK_DAYS)",
        )
        parser.add_argument(
            "--no-backfill", action="store_true", help="do not rebuild missing daily snapshots from the raw events"
        )

    def handle(self, *args, key: str, format: str, output: Path | None, **options):
        experiment = Experiment.objects.prefetch_related("products__category").filter(key=key).first()
        if experiment is None:
            raise CommandError(f"experiment {key!r} not found")
        lookback = options["cuped_lookback_days"]
        if lookback is not None and not 0 <= lookback <= MAX_CUPED_LOOKBACK:
            raise CommandError(f"--cuped-lookback-days must lie in [0, {MAX_CUPED_LOOKBACK}] (0: off), not {lookback}")
        report = services.report_build(
            experiment=experiment,
            options=ReportOptions(
                sequential_method=options["sequential_method"] or "",
                correction=options["correction"] or "",
                segment=options["segment"] or "",
                cuped_lookback_days=-1 if lookback is None else lookback,
            ),
            with_timeseries=format != "csv",
            with_novelty=True,
            backfill="never" if options["no_backfill"] else "now",
        )
        if format == "json":
            text = json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
        elif format == "csv":
            text = report_csv(report)
        else:
            from analytics.views import report_html

            text = report_html(report)
        if output is None:
            self.stdout.write(text, ending="")
            return
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot write {output}: {exc.strerror}") from None
        self.stderr.write(f"{format.upper()} report of {key} written to {output} ({len(text.encode()):,} bytes)")
