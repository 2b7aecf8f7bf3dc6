"""Report snapshots: each experiment's per-variant sufficient statistics, one row per day.

A snapshot is cumulative (everything up to `taken_at`), so a report's cumulative lift over time
and its sequential looks read a few dozen small rows instead of rescanning the raw events.
"""

from __future__ import annotations

from django.db import models

from experiments.models import Experiment


class ReportSnapshot(models.Model):
    class Source(models.TextChoices):
        TOTALS = "totals", "Per-unit totals (periodic task)"
        EVENTS = "events", "Raw events (backfill)"

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="report_snapshots")
    day = models.DateField(help_text="UTC day of this look; later snapshots of the same day replace it.")
    taken_at = models.DateTimeField(help_text="Totals are cumulative up to this moment.")
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.TOTALS)
    # {variant id (str): {field of analytics.selectors.VariantAggregates: number}}. JSON rather than a
    # row per variant: it is only ever read whole, together with the experiment's other variants.
    variants = models.JSONField(default=dict)
    # Bandit-mode experiments only: the same statistics over the fixed holdout slice, the part of
    # the traffic their report analyses. None for fixed-allocation experiments and backfilled days.
    holdout_variants = models.JSONField(null=True, blank=True)
    # The day's activity alone (units with events that day, their totals of that day), for the daily
    # lift: {variant id (str): {field of VariantAggregates: number}}, as of `day_until`. None: taken
    # before the daily lift existed (`report_snapshots --backfill` fills it in).
    day_variants = models.JSONField(null=True, blank=True)
    day_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="`day_variants` count the events before this moment (the day's end once complete).",
    )
    units_in_several_variants = models.PositiveIntegerField(
        null=True, blank=True, help_text="Units with totals in more than one variant at that moment."
    )

    class Meta:
        ordering = ["experiment", "day"]
        constraints = [models.UniqueConstraint(fields=["experiment", "day"], name="reportsnapshot_experiment_day")]

    def __str__(self) -> str:
        return f"{self.experiment_id} on {self.day}"
