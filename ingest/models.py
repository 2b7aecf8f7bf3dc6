"""Ingestion: write keys, raw events, per-unit totals, and what each key sent."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from catalog.models import Product
from experiments.models import UNIT_MAX_LENGTH, Experiment, Variant

# The tables keep the names they had when these models lived in the experiments app.


class WriteKey(models.Model):
    """A storefront's credential for posting events. Only a hash of the key is stored."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, help_text="Public part of the key, for lookup and display.")
    key_hash = models.CharField(max_length=64, help_text="SHA-256 of the full key.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Scopes: a storefront's key is public (it sits in the page), so it must not open every
    # experiment to every site. Empty means no restriction.
    experiments = models.ManyToManyField(
        Experiment,
        blank=True,
        related_name="+",
        help_text="Experiments this key may post events for; none selected = all experiments.",
    )
    allowed_origins = models.TextField(
        blank=True,
        help_text="Origins allowed to post with this key from a browser (the Origin header), one per line, "
        "e.g. https://shop.example; empty = any origin.",
    )
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Requests per minute for this key, counted across all web processes; "
        "empty = INGEST_RATE_LIMIT_PER_MINUTE, 0 = unlimited.",
    )
    simulated = models.BooleanField(
        default=False,
        help_text="Posts simulated traffic (the demo storefront, simulate_traffic): the experiments it sends events "
        "for are labelled 'simulated traffic' in every report.",
    )

    class Meta:
        db_table = "experiments_writekey"
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class EventType(models.IntegerChoices):
    IMPRESSION = 0, "impression"
    CLICK = 1, "click"
    ADD_TO_CART = 2, "add_to_cart"
    ORDER = 3, "order"


class Event(models.Model):
    """A raw storefront event: the record of truth. (experiment, event_id) is the idempotency key."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="+", db_index=False)
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="+", db_index=False)
    event_id = models.CharField(max_length=64)
    type = models.PositiveSmallIntegerField(choices=EventType.choices)
    unit = models.CharField(max_length=UNIT_MAX_LENGTH)
    ts = models.DateTimeField()
    revenue = models.FloatField(null=True, blank=True)
    # The SKU the event is about (required on impressions, clicks and add-to-carts of a catalog
    # experiment; an order may name none). Reports read the per-product totals, not this column.
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    write_key = models.ForeignKey(WriteKey, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    received_at = models.DateTimeField()

    class Meta:
        db_table = "experiments_event"
        constraints = [models.UniqueConstraint(fields=["experiment", "event_id"], name="event_idempotency_key")]
        # Per-experiment scans in time order (reports, backfills); the unique index above also
        # starts with experiment, but is ordered by event_id.
        indexes = [
            models.Index(fields=["experiment", "ts"], name="event_experiment_ts"),
            # A unit's events across experiments in time order: its pre-exposure behaviour, CUPED's
            # covariate (analytics.event_scans.pre_exposure_sums).
            models.Index(fields=["unit", "ts"], name="event_unit_ts"),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} {self.event_id}"


class UnitTotals(models.Model):
    """Running totals per (experiment, unit, variant): what the statistics need, kept as events arrive.

    Per-variant sufficient statistics (n, sums, sums of squares, cross sums) are one aggregate
    query over this table. A unit with rows in two variants is flagged by the report.
    """

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="+", db_index=False)
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="+", db_index=False)
    unit = models.CharField(max_length=UNIT_MAX_LENGTH)
    impressions = models.PositiveIntegerField(default=0)
    clicks = models.PositiveIntegerField(default=0)
    add_to_carts = models.PositiveIntegerField(default=0)
    orders = models.PositiveIntegerField(default=0)
    revenue = models.FloatField(default=0.0)
    first_exposure = models.DateTimeField(null=True, blank=True, help_text="Time of the first impression.")
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        db_table = "experiments_unittotals"
        verbose_name_plural = "unit totals"
        constraints = [
            models.UniqueConstraint(fields=["experiment", "unit", "variant"], name="unittotals_experiment_unit_variant")
        ]
        indexes = [models.Index(fields=["experiment", "variant"], name="unittotals_experiment_variant")]

    def __str__(self) -> str:
        return f"{self.unit} in variant {self.variant_id}"


class UnitAttributes(models.Model):
    """What the storefront said about a unit (the first event that carried attributes wins): the
    segments a report can break its metrics down by. One row per (experiment, unit); empty = not sent."""

    class Device(models.TextChoices):
        DESKTOP = "desktop"
        MOBILE = "mobile"
        TABLET = "tablet"
        OTHER = "other"

    class Visitor(models.TextChoices):
        NEW = "new"
        RETURNING = "returning"

    class Source(models.TextChoices):
        DIRECT = "direct"
        SEARCH = "search"
        SOCIAL = "social"
        EMAIL = "email"
        PAID = "paid"
        REFERRAL = "referral"
        OTHER = "other"

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="+", db_index=False)
    unit = models.CharField(max_length=UNIT_MAX_LENGTH)
    device = models.CharField(max_length=8, blank=True, choices=Device.choices)
    visitor = models.CharField(max_length=9, blank=True, choices=Visitor.choices)
    source = models.CharField(max_length=8, blank=True, choices=Source.choices)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2, upper case.")
    prior_orders = models.PositiveIntegerField(
        null=True, blank=True, help_text="The visitor's orders before, as the storefront counts them (a covariate)."
    )
    sent_at = models.DateTimeField(
        null=True, blank=True, help_text="Time (ts) of the event that sent these attributes; null before it was kept."
    )
    created_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "unit attributes"
        constraints = [models.UniqueConstraint(fields=["experiment", "unit"], name="unitattributes_experiment_unit")]

    def __str__(self) -> str:
        return f"{self.unit} in experiment {self.experiment_id}"


class Dimension(models.IntegerChoices):
    """What a breakdown row is keyed by: a product id or a category id."""

    PRODUCT = 0, "product"
    CATEGORY = 1, "category"


class BreakdownUnitTotals(models.Model):
    """Running totals per (experiment, unit, variant, product) and per (experiment, unit, variant, category).

    Kept so that each batch knows a unit's old totals on a product (old = new - delta, from the upsert's
    RETURNING) and can move the sums of squares in `BreakdownStats` exactly. Events of excluded products
    have product rows here but no category rows (categories, like the pooled totals, leave them out).
    """

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="+", db_index=False)
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="+", db_index=False)
    unit = models.CharField(max_length=UNIT_MAX_LENGTH)
    dimension = models.PositiveSmallIntegerField(choices=Dimension.choices)
    key = models.BigIntegerField(help_text="Product id or category id, per `dimension`.")
    impressions = models.PositiveIntegerField(default=0)
    clicks = models.PositiveIntegerField(default=0)
    add_to_carts = models.PositiveIntegerField(default=0)
    orders = models.PositiveIntegerField(default=0)
    revenue = models.FloatField(default=0.0)

    class Meta:
        verbose_name_plural = "breakdown unit totals"
        constraints = [
            models.UniqueConstraint(
                fields=["experiment", "unit", "variant", "dimension", "key"], name="breakdownunit_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.unit} in variant {self.variant_id}, {self.get_dimension_display()} {self.key}"


class BreakdownStats(models.Model):
    """Sufficient statistics per (experiment, variant, product) and per (experiment, variant, category):
    sums over units of the per-unit totals in `BreakdownUnitTotals`, their squares and cross products
    (the fields of `analytics.selectors.VariantAggregates`). Moved in the transaction that stores the
    events, so a breakdown report reads rows per product and arm, never units."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="+", db_index=False)
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="+", db_index=False)
    dimension = models.PositiveSmallIntegerField(choices=Dimension.choices)
    key = models.BigIntegerField(help_text="Product id or category id, per `dimension`.")
    excluded = models.BooleanField(
        default=False, help_text="A product some arm had no approved copy for: not in the pooled analysis."
    )
    units = models.BigIntegerField(default=0)
    impressions = models.FloatField(default=0.0)
    clicks = models.FloatField(default=0.0)
    add_to_carts = models.FloatField(default=0.0)
    orders = models.FloatField(default=0.0)
    revenue = models.FloatField(default=0.0)
    sq_impressions = models.FloatField(default=0.0)
    sq_clicks = models.FloatField(default=0.0)
    sq_add_to_carts = models.FloatField(default=0.0)
    sq_orders = models.FloatField(default=0.0)
    sq_revenue = models.FloatField(default=0.0)
    x_clicks_impressions = models.FloatField(default=0.0)
    x_orders_impressions = models.FloatField(default=0.0)
    x_orders_clicks = models.FloatField(default=0.0)
    x_add_to_carts_clicks = models.FloatField(default=0.0)
    units_without_impression = models.BigIntegerField(default=0)

    class Meta:
        verbose_name_plural = "breakdown stats"
        constraints = [
            models.UniqueConstraint(fields=["experiment", "variant", "dimension", "key"], name="breakdownstats_unique")
        ]

    def __str__(self) -> str:
        return f"variant {self.variant_id}, {self.get_dimension_display()} {self.key}"


class IngestStats(models.Model):
    """Per write key and experiment: what ingestion accepted, dropped as duplicate, or refused."""

    # PROTECT: keys are revoked, never deleted, so what a key sent stays on record.
    write_key = models.ForeignKey(WriteKey, on_delete=models.PROTECT, related_name="stats")
    experiment = models.ForeignKey(Experiment, null=True, on_delete=models.CASCADE, related_name="+")
    queued = models.PositiveBigIntegerField(default=0, help_text="Valid events accepted by the API and queued.")
    stored = models.PositiveBigIntegerField(default=0, help_text="Events written by the workers.")
    duplicates = models.PositiveBigIntegerField(default=0, help_text="Events dropped as already stored.")
    rejected = models.PositiveBigIntegerField(default=0, help_text="Events refused by validation.")
    quarantined = models.PositiveBigIntegerField(
        default=0, help_text="Events set aside by the plausibility rules (not in the totals)."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "experiments_ingeststats"
        verbose_name_plural = "ingest stats"
        constraints = [
            models.UniqueConstraint(
                fields=["write_key", "experiment"], name="ingeststats_key_experiment", nulls_distinct=False
            )
        ]

    def __str__(self) -> str:
        return f"ingestion via key {self.write_key_id} for experiment {self.experiment_id}"


class IngestBatch(models.Model):
    """One accepted request's batch, recorded by the worker that stored it.

    The batch id makes a re-delivered task a no-op (exact statistics, not only exact events);
    the row doubles as an audit log of what each write key sent.
    """

    batch_id = models.UUIDField(unique=True)
    write_key = models.ForeignKey(WriteKey, null=True, on_delete=models.SET_NULL, related_name="+")
    received_at = models.DateTimeField()
    processed_at = models.DateTimeField()
    events = models.PositiveIntegerField()
    stored = models.PositiveIntegerField()
    duplicates = models.PositiveIntegerField()
    rejected = models.PositiveIntegerField()

    class Meta:
        db_table = "experiments_ingestbatch"

    def __str__(self) -> str:
        return str(self.batch_id)


class PendingBatch(models.Model):
    """An accepted batch not yet stored: the outbox the API writes before it answers 202.

    The broker alone can lose a message (Redis killed between a worker's pop and its unacked record);
    this row cannot. The worker that stores the batch deletes it in the same transaction; a row still
    here at `due_at` is published again (ingest.outbox), with a growing wait, so a lost message is
    re-sent and a merely slow queue is not flooded. `payload`: the `events_ingest` task's kwargs as JSON
    text (not a JSONField: PostgreSQL's jsonb parse made the insert 2.4× slower, and nothing queries inside).
    """

    batch_id = models.UUIDField(primary_key=True)
    payload = models.TextField()
    accepted_at = models.DateTimeField()
    due_at = models.DateTimeField(db_index=True)
    attempts = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return str(self.batch_id)


class QuarantinedEvent(models.Model):
    """An event that passed validation but broke a plausibility rule (ingest.plausibility): kept
    for review, never added to the unit totals. Same idempotency key as Event."""

    class Reason(models.TextChoices):
        CLICKS = "clicks_over_impressions", "More clicks than impressions allow"
        ORDER_WITHOUT_CLICK = "order_without_click", "Order without a click"
        REVENUE = "revenue_over_cap", "Revenue far above the product's price"
        BURST = "burst", "Events faster than a person"

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="+")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="+", db_index=False)
    event_id = models.CharField(max_length=64)
    type = models.PositiveSmallIntegerField(choices=EventType.choices)
    unit = models.CharField(max_length=UNIT_MAX_LENGTH)
    ts = models.DateTimeField()
    revenue = models.FloatField(null=True, blank=True)
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    reason = models.CharField(max_length=32, choices=Reason.choices, db_index=True)
    write_key = models.ForeignKey(WriteKey, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    received_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["experiment", "event_id"], name="quarantine_idempotency_key")]

    def __str__(self) -> str:
        return f"{self.get_type_display()} {self.event_id} ({self.reason})"


class RateLimitWindow(models.Model):
    """Requests counted per bucket (a write key, a client IP) and one-minute window, shared by
    every web process through the database (ingest.ratelimit)."""

    bucket = models.CharField(max_length=80)
    window = models.BigIntegerField(help_text="Minutes since the epoch.")
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bucket", "window"], name="ratelimit_bucket_window")]
        indexes = [models.Index(fields=["window"], name="ratelimit_window")]

    def __str__(self) -> str:
        return f"{self.bucket} @ {self.window}: {self.count}"
