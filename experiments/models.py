"""Catalog, brand rules, experiments and their variants."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from experiments.brand import Guideline

UNIT_MAX_LENGTH = 128


class Category(models.Model):
    """A product category with its recommended creativity weight λ and keyword library."""

    name = models.CharField(max_length=64, unique=True)
    recommended_lambda = models.FloatField(
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Default creativity weight λ for new LLM variants in this category.",
    )
    keywords = models.JSONField(default=list, blank=True, help_text="Category keyword library (list of phrases).")

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class BrandGuideline(models.Model):
    brand = models.CharField(max_length=128, unique=True)
    tone = models.CharField(max_length=200, blank=True)
    forbidden_words = models.JSONField(default=list, blank=True)
    max_length = models.PositiveIntegerField(default=280, help_text="Maximum copy length in characters.")
    cta_required = models.BooleanField(default=False, help_text="Copy must contain a call to action.")

    class Meta:
        ordering = ["brand"]

    def __str__(self) -> str:
        return self.brand

    def as_rules(self) -> Guideline:
        return Guideline(
            tone=self.tone,
            forbidden_words=tuple(self.forbidden_words or ()),
            max_length=self.max_length,
            cta_required=self.cta_required,
        )


class Product(models.Model):
    sku = models.CharField(max_length=64, unique=True)
    title = models.CharField(max_length=255)
    brand = models.CharField(max_length=128, db_index=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    price = models.DecimalField(max_digits=10, decimal_places=2)
    description = models.TextField(blank=True)
    attributes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["sku"]

    def __str__(self) -> str:
        return f"{self.sku} · {self.title}"

    @property
    def guideline(self) -> BrandGuideline | None:
        return BrandGuideline.objects.filter(brand=self.brand).first()


class Experiment(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        STOPPED = "stopped", "Stopped"

    class Metric(models.TextChoices):
        CTR = "ctr", "CTR (clicks / impressions)"
        CVR = "cvr", "CVR (orders / impressions)"

    class AllocationMode(models.TextChoices):
        FIXED = "fixed", "Fixed weights"
        BANDIT = "bandit", "Adaptive λ (Thompson sampling, with a fixed holdout slice)"

    key = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    hypothesis = models.TextField(blank=True)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="experiments")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    primary_metric = models.CharField(max_length=8, choices=Metric.choices, default=Metric.CTR)
    alpha = models.FloatField(default=0.05, validators=[MinValueValidator(0.001), MaxValueValidator(0.5)])
    seed = models.CharField(max_length=128, blank=True, help_text="Hash seed; empty means the experiment key.")
    coverage = models.FloatField(
        default=1.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of visitors included, in (0, 1].",
    )
    namespace_id = models.CharField(max_length=64, blank=True)
    namespace_start = models.FloatField(null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(1)])
    namespace_end = models.FloatField(null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(1)])
    allocation_mode = models.CharField(
        max_length=8,
        choices=AllocationMode.choices,
        default=AllocationMode.FIXED,
        help_text="Bandit: traffic outside the holdout slice shifts toward the best λ arm, at most daily.",
    )
    bandit_holdout = models.FloatField(
        default=0.2,
        validators=[MinValueValidator(0.05), MaxValueValidator(1.0)],
        help_text="Bandit mode: share of traffic always split evenly; the report analyses this slice alone.",
    )
    bandit_floor = models.FloatField(
        default=0.05,
        validators=[MinValueValidator(0.0), MaxValueValidator(0.5)],
        help_text="Bandit mode: the least share of the adaptive slice every λ arm keeps.",
    )
    started_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="experiments"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.key

    @property
    def hash_seed(self) -> str:
        return self.seed or self.key

    @property
    def namespace(self) -> tuple[str, float, float] | None:
        if not self.namespace_id:
            return None
        return (self.namespace_id, float(self.namespace_start or 0.0), float(self.namespace_end or 1.0))


class Variant(models.Model):
    class Source(models.TextChoices):
        CONTROL = "control", "Control copy"
        HUMAN = "human", "Written by a person"
        LLM = "llm", "Generated by the LLM"

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="variants")
    key = models.SlugField(max_length=64)
    name = models.CharField(max_length=200, blank=True)
    position = models.PositiveIntegerField(
        default=0, help_text="Order of the variant; the hash assigns buckets in this order."
    )
    is_control = models.BooleanField(default=False)
    lambda_value = models.FloatField(
        "λ",
        null=True,
        blank=True,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Creativity weight used to generate this copy (empty for the control).",
    )
    copy = models.TextField()
    weight = models.FloatField(default=1.0, validators=[MinValueValidator(0.0)])
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.HUMAN)
    approved = models.BooleanField(default=False)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["experiment", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["experiment", "key"], name="variant_key_unique_per_experiment")]

    def __str__(self) -> str:
        return f"{self.experiment.key}/{self.key}"


class AllocationVersion(models.Model):
    """One allocation of a bandit-mode experiment's adaptive slice, in force from `effective_from`.

    Version 1 is the start (the variants' own weights); each re-weighting adds one. Assignment is
    a pure function of (unit, version): events are validated against the version in force at
    their timestamp, so a late event lands in the variant the visitor actually saw.
    """

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="allocation_versions")
    version = models.PositiveIntegerField()
    effective_from = models.DateTimeField()
    weights = models.JSONField(help_text="Adaptive-slice weight by variant key (sums to 1).")
    prob_best = models.JSONField(default=dict, blank=True, help_text="Posterior P(best λ arm) at re-weighting.")
    counts = models.JSONField(default=dict, blank=True, help_text="Impressions and successes per variant used.")
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["experiment", "version"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "version"], name="allocation_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.experiment_id} allocation v{self.version}"


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

    class Meta:
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
    write_key = models.ForeignKey(WriteKey, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    received_at = models.DateTimeField()

    class Meta:
        db_table = "experiments_event"
        constraints = [models.UniqueConstraint(fields=["experiment", "event_id"], name="event_idempotency_key")]
        # Per-experiment scans in time order (reports, backfills); the unique index above also
        # starts with experiment, but is ordered by event_id.
        indexes = [models.Index(fields=["experiment", "ts"], name="event_experiment_ts")]

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


class IngestStats(models.Model):
    """Per write key and experiment: what ingestion accepted, dropped as duplicate, or refused."""

    write_key = models.ForeignKey(WriteKey, on_delete=models.CASCADE, related_name="stats")
    experiment = models.ForeignKey(Experiment, null=True, on_delete=models.CASCADE, related_name="+")
    queued = models.PositiveBigIntegerField(default=0, help_text="Valid events accepted by the API and queued.")
    stored = models.PositiveBigIntegerField(default=0, help_text="Events written by the workers.")
    duplicates = models.PositiveBigIntegerField(default=0, help_text="Events dropped as already stored.")
    rejected = models.PositiveBigIntegerField(default=0, help_text="Events refused by validation.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
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

    def __str__(self) -> str:
        return str(self.batch_id)
