"""Generation jobs, their scored candidates, and versions of the conversion predictor."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from generator.predictor import FEATURE_NAMES, LogisticModel


class GenerationJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    experiment = models.ForeignKey("experiments.Experiment", on_delete=models.CASCADE, related_name="generation_jobs")
    lambdas = models.JSONField(help_text="Creativity weights λ, one candidate pool each.")
    candidates_per_lambda = models.PositiveSmallIntegerField(
        default=8, validators=[MinValueValidator(1), MaxValueValidator(32)]
    )
    top_k = models.PositiveSmallIntegerField(default=3, validators=[MinValueValidator(1), MaxValueValidator(32)])
    seed = models.IntegerField(default=0, help_text="Sampling seed: the same job settings give the same copy.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.FloatField(default=0.0, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    error = models.TextField(blank=True)
    model_name = models.CharField(max_length=255, blank=True)
    model_version = models.CharField(max_length=255, blank=True)
    prompt_version = models.CharField(max_length=32, blank=True)
    predictor_version = models.CharField(max_length=64, blank=True)
    params = models.JSONField(default=dict, blank=True, help_text="Sampling and reranking settings used.")
    timings = models.JSONField(default=dict, blank=True, help_text="Seconds spent loading, generating, scoring.")
    summary = models.JSONField(default=dict, blank=True, help_text="Per λ: set diversity, drops, variant made.")
    attempts = models.PositiveSmallIntegerField(default=0)
    skus = models.JSONField(
        default=list, blank=True, help_text="Only these products (a retry of failed ones); empty: the whole set."
    )
    products_total = models.PositiveIntegerField(default=0, help_text="Products × λ values to write.")
    products_done = models.PositiveIntegerField(default=0, help_text="Of those, finished with a copy.")
    products_failed = models.PositiveIntegerField(default=0, help_text="Of those, finished without one.")
    candidates_made = models.PositiveIntegerField(default=0, help_text="Samples drawn so far (the running cost).")
    tokens = models.PositiveBigIntegerField(default=0, help_text="Tokens generated so far.")
    work_seconds = models.FloatField(default=0.0, help_text="Seconds spent generating and scoring so far.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="generation_jobs"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"generation #{self.pk} for {self.experiment_id} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left at the pace so far (None before the first product is done)."""
        finished = self.products_done + self.products_failed
        if self.finished or not finished or not self.work_seconds:
            return None if not self.finished else 0.0
        return self.work_seconds / finished * max(0, self.products_total - finished)


class GenerationJobProduct(models.Model):
    """One (product, λ) of a job, written the moment it is finished: a resumed or redelivered job
    skips what is here, so no product is generated twice and none is lost."""

    class Status(models.TextChoices):
        DONE = "done", "Copy written"
        FAILED = "failed", "No copy"

    job = models.ForeignKey(GenerationJob, on_delete=models.CASCADE, related_name="products")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    lambda_value = models.FloatField("λ")
    status = models.CharField(max_length=8, choices=Status.choices)
    error = models.TextField(blank=True)
    rounds = models.PositiveSmallIntegerField(default=0)
    candidates = models.PositiveSmallIntegerField(default=0)
    tokens = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(default=0.0)
    attempt = models.PositiveSmallIntegerField(default=1, help_text="The delivery of the job that wrote it.")
    finished_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "product", "lambda_value"], name="generationjobproduct_unique")
        ]

    def __str__(self) -> str:
        return f"job {self.job_id} · {self.product_id} · λ={self.lambda_value:.2f}"


class Candidate(models.Model):
    """One sampled piece of copy with every score, kept whether or not it made the cut."""

    job = models.ForeignKey(GenerationJob, on_delete=models.CASCADE, related_name="candidates")
    lambda_value = models.FloatField("λ")
    position = models.PositiveSmallIntegerField(help_text="Order of generation within the λ pool.")
    prompt_type = models.CharField(max_length=16, blank=True)
    sentiment_target = models.CharField(max_length=64, blank=True)
    text = models.TextField(blank=True)
    n_tokens = models.PositiveIntegerField(default=0)
    cta_appended = models.BooleanField(default=False, help_text="A stock call to action was appended.")
    novelty = models.FloatField(help_text="1 − mean cosine similarity to the other candidates and the control.")
    diversity = models.FloatField(help_text="1 − mean cosine similarity to the other candidates (mean = set D).")
    sentiment = models.FloatField(help_text="VADER compound polarity, −1..1.")
    cta_present = models.BooleanField(default=False)
    cta_density = models.FloatField(help_text="Calls to action per word.")
    readability = models.FloatField(help_text="Flesch reading ease, 0..100.")
    keyword_strength = models.FloatField()
    relevance = models.FloatField(help_text="Cosine similarity to the product description.")
    length_chars = models.PositiveIntegerField(default=0)
    words = models.PositiveIntegerField(default=0)
    p_conv = models.FloatField(help_text="Predicted conversion (orders / impressions).")
    p_click = models.FloatField(null=True, blank=True, help_text="Predicted click-through rate.")
    reward = models.FloatField(null=True, blank=True, help_text="R = λ·D + (1 − λ)·P_conv (see the reranker).")
    rank = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1 = best; empty when filtered out.")
    dropped_reason = models.CharField(max_length=500, blank=True)
    cuts = models.JSONField(
        default=list, blank=True, help_text="Sentences the copy guards cut from the sample, each with its reason."
    )
    variant = models.ForeignKey(
        "experiments.Variant", null=True, blank=True, on_delete=models.SET_NULL, related_name="candidates"
    )
    product = models.ForeignKey(
        "catalog.Product", null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )

    class Meta:
        ordering = ["job", "lambda_value", "rank", "position"]
        indexes = [models.Index(fields=["job", "lambda_value"])]

    def __str__(self) -> str:
        return f"λ={self.lambda_value:.2f} #{self.position + 1}"

    @property
    def kept(self) -> bool:
        return not self.dropped_reason


class ConversionPredictor(models.Model):
    """A fitted θ for P(x) = σ(θᵀx); the active row per (category, target) feeds the reranker."""

    class Target(models.TextChoices):
        CVR = "cvr", "Orders / impressions"
        CTR = "ctr", "Clicks / impressions"

    version = models.PositiveIntegerField()
    category = models.ForeignKey(
        "catalog.Category",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="predictors",
        help_text="Empty = fitted on every category (used where a category has none of its own).",
    )
    target = models.CharField(max_length=8, choices=Target.choices, default=Target.CVR)
    coefficients = models.JSONField(help_text='θ by feature name, plus "intercept".')
    feature_names = models.JSONField(default=list)
    trained_at = models.DateTimeField(auto_now_add=True)
    n_samples = models.PositiveIntegerField(default=0, help_text="Pieces of copy with logged outcomes.")
    metrics = models.JSONField(default=dict, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-trained_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["target", "version"], name="predictor_version_unique_per_target"),
        ]

    def __str__(self) -> str:
        scope = self.category.name if self.category_id else "all categories"
        return f"{self.target} v{self.version} ({scope})"

    @property
    def label(self) -> str:
        return f"{self.target}-v{self.version}"

    def as_model(self) -> LogisticModel:
        names = tuple(self.feature_names or FEATURE_NAMES)
        return LogisticModel(
            target=self.target, coefficients=dict(self.coefficients), version=self.label, feature_names=names
        )


class Adapter(models.Model):
    """A versioned LoRA adapter of the copy model for one category (fine-tuned by SFT or RL).

    The category's active adapter is what its generation jobs use. `metrics["evaluation"]` holds
    the base-vs-tuned comparison that the activation gate reads.
    """

    class Mode(models.TextChoices):
        SFT = "sft", "Supervised (multi-objective loss)"
        RL = "rl", "Reinforcement (reranker reward)"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        TRAINING = "training", "Training"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    category = models.ForeignKey("catalog.Category", on_delete=models.CASCADE, related_name="adapters")
    version = models.PositiveIntegerField()
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.SFT)
    path = models.CharField(max_length=500, help_text="Folder of the adapter (adapter_config.json, weights).")
    base_model = models.CharField(max_length=255, help_text="The base model the adapter was trained on.")
    params = models.JSONField(
        default=dict, blank=True, help_text="Training settings (steps, rate, LoRA, loss weights)."
    )
    metrics = models.JSONField(default=dict, blank=True, help_text="Training summary and the evaluation comparison.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    steps_done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    active = models.BooleanField(default=False, help_text="Generation jobs of the category use this adapter.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="adapters"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["category", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["category", "version"], name="adapter_version_unique_per_category"),
            models.UniqueConstraint(
                fields=["category"], condition=models.Q(active=True), name="adapter_one_active_per_category"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category} {self.label} ({self.mode}, {self.status})"

    @property
    def label(self) -> str:
        return f"v{self.version}"

    @property
    def evaluation(self) -> dict:
        return dict((self.metrics or {}).get("evaluation") or {})
