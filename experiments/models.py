"""Experiments over products, their variants (arms) and allocation history."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from catalog.models import Product

UNIT_MAX_LENGTH = 128
# The metrics a lift report computes, by name (analytics.selectors.METRICS maps each to its per-unit
# columns): an experiment's guardrails are chosen among them.
REPORT_METRICS = ("ctr", "cvr", "click_to_order", "atc_rate", "orders_per_unit", "revenue_per_unit")


class Experiment(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        STOPPED = "stopped", "Stopped"

    class Metric(models.TextChoices):
        CTR = "ctr", "CTR (clicks / impressions)"
        CVR = "cvr", "CVR (orders / impressions)"

    class Correction(models.TextChoices):
        HOLM = "holm", "Holm (family-wise error rate)"
        BH = "bh", "Benjamini-Hochberg (false discovery rate)"

    class AllocationMode(models.TextChoices):
        FIXED = "fixed", "Fixed weights"
        BANDIT = "bandit", "Adaptive λ (Thompson sampling, with a fixed holdout slice)"

    key = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    hypothesis = models.TextField(blank=True)
    products = models.ManyToManyField(Product, through="ExperimentProduct", related_name="experiments")
    product_set = models.JSONField(
        default=dict,
        blank=True,
        help_text='Which products: {"skus": [...]}, {"categories": [...]} or {"filter": {...}}; resolved into '
        "the experiment's products while it is a draft, frozen at start.",
    )
    control_fallback = models.BooleanField(
        default=False,
        help_text="Start even where an arm lacks approved copy for a product: that arm shows the control copy "
        "there, and those products are left out of the analysis.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    simulated_traffic = models.BooleanField(
        default=False,
        help_text="Events came from the traffic simulator (simulate_traffic, the demo seed) or a write key marked "
        "simulated: every report of this experiment says so, since its lifts describe made-up visitors.",
    )
    primary_metric = models.CharField(max_length=8, choices=Metric.choices, default=Metric.CTR)
    alpha = models.FloatField(default=0.05, validators=[MinValueValidator(0.001), MaxValueValidator(0.5)])
    correction = models.CharField(
        max_length=8,
        choices=Correction.choices,
        default=Correction.HOLM,
        help_text="Multiple-comparison correction across arms; frozen once the experiment starts.",
    )
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
    planned_units = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Units (all arms) the group-sequential design plans for; empty: the report derives it from "
        "the power calculator for the primary metric at the minimum lift.",
    )
    guardrail_metrics = models.JSONField(
        default=list,
        blank=True,
        help_text="Report metrics (e.g. atc_rate, revenue_per_unit) where a significant harm blocks shipping.",
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
    def product(self) -> Product | None:
        """The product of a one-product experiment (the v1 shape); None for a larger set."""
        cached = getattr(self, "_prefetched_objects_cache", {}).get("products")
        rows = list(cached) if cached is not None else list(self.products.all()[:2])
        return rows[0] if len(rows) == 1 else None

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
    weight = models.FloatField(default=1.0, validators=[MinValueValidator(0.0)])
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.HUMAN)
    prompt_version = models.CharField(
        max_length=32, blank=True, help_text="LLM arms: the prompt version to write with."
    )
    model_name = models.CharField(
        max_length=200, blank=True, help_text="LLM arms: the model (empty: the platform's default)."
    )
    adapter = models.CharField(max_length=200, blank=True, help_text="LLM arms: an optional fine-tuned adapter.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["experiment", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["experiment", "key"], name="variant_key_unique_per_experiment")]

    def __str__(self) -> str:
        return f"{self.experiment.key}/{self.key}"

    @property
    def regenerable(self) -> bool:
        """An LLM arm named after its λ: the arm that generation at that λ writes to, so one
        product's copy in it can be generated again."""
        return self.lambda_value is not None and not self.is_control and self.key == variant_key_for(self.lambda_value)


def variant_key_for(lam: float) -> str:
    """The key of the LLM arm at λ that generation writes to: `llm-l060` for λ = 0.6 (sorts by λ
    and stays a valid slug)."""
    return f"llm-l{round(lam * 100):03d}"


# A variant's own fields as the admin's inline and the API show them, in this order; its copy is
# per product (`VariantCopy`).
VARIANT_FIELDS = ("key", "name", "is_control", "lambda_value", "weight", "source")


class ExperimentProduct(models.Model):
    """One product of an experiment's set (frozen at start)."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["experiment", "product"], name="experiment_product_unique")]
        indexes = [models.Index(fields=["product"], name="experimentproduct_product")]

    def __str__(self) -> str:
        return f"{self.experiment_id} · {self.product_id}"


class VariantCopy(models.Model):
    """The copy one arm shows on one product, with its review state and what the checks found."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Generation failed"

    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="copies")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    copy = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    flags = models.JSONField(default=list, blank=True, help_text="What the checks found (brand rule, guards…).")
    candidates = models.JSONField(
        default=list, blank=True, help_text="The chosen copy and the runner-ups with their scores."
    )
    error = models.TextField(blank=True, help_text="Why generation failed, for a failed product.")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["variant", "product__sku"]
        constraints = [models.UniqueConstraint(fields=["variant", "product"], name="variantcopy_variant_product")]

    def __str__(self) -> str:
        return f"{self.variant} · {self.product_id}"

    @property
    def approved(self) -> bool:
        return self.status == self.Status.APPROVED


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
