"""API shapes for experiments. Validation of single fields lives here; rules that involve the
experiment's state live in `experiments.services`."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from catalog.models import Product
from experiments.models import VARIANT_FIELDS, Experiment, Variant, VariantCopy


def _only_copy(variant: Variant) -> VariantCopy | None:
    """A one-product experiment's copy row of the arm (prefetched by the API's queryset)."""
    copies = list(variant.copies.all())
    return copies[0] if len(copies) == 1 else None


class ArmCopyField(serializers.CharField):
    """Writes the copy of a one-product arm; reads it back from its copy row (null for a set)."""

    def get_attribute(self, instance: Variant) -> str | None:
        only = _only_copy(instance)
        return only.copy if only else None


class ArmApprovedField(serializers.BooleanField):
    """Writes approval of the arm's copy; reads whether every product's copy is approved."""

    def get_attribute(self, instance: Variant) -> bool:
        copies = list(instance.copies.all())
        return bool(copies) and all(c.approved for c in copies)


class VariantSerializer(serializers.ModelSerializer):
    """An arm. `copy` and `approved` are the v1 shape of a one-product experiment (its one copy);
    `copies` ({SKU: text}) fills a hand-written arm of a larger set; per-product review state is at
    …/variants/KEY/copies, and `copy_counts` sums it up."""

    copy = ArmCopyField(required=False, allow_blank=True, allow_null=True)
    copies = serializers.DictField(
        child=serializers.CharField(allow_blank=True), required=False, write_only=True, help_text="SKU → copy"
    )
    approved = ArmApprovedField(required=False)
    approved_by = serializers.SerializerMethodField()
    approved_at = serializers.SerializerMethodField()
    copy_counts = serializers.SerializerMethodField()

    class Meta:
        model = Variant
        fields = [
            *VARIANT_FIELDS,
            "prompt_version",
            "model_name",
            "adapter",
            "copy",
            "copies",
            "approved",
            "approved_by",
            "approved_at",
            "copy_counts",
        ]
        extra_kwargs = {
            "lambda_value": {"source": "lambda_value", "min_value": 0.0, "max_value": 1.0},
            "weight": {"min_value": 0.0},
            "source": {"required": False},
        }

    def get_fields(self):
        # The API calls it `lambda` (a Python keyword, hence the model's `lambda_value`).
        return {("lambda" if name == "lambda_value" else name): field for name, field in super().get_fields().items()}

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_approved_by(self, variant: Variant) -> str | None:
        only = _only_copy(variant)
        return only.reviewed_by.get_username() if only and only.approved and only.reviewed_by else None

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_approved_at(self, variant: Variant) -> str | None:
        only = _only_copy(variant)
        if only and only.approved and only.reviewed_at:
            return serializers.DateTimeField().to_representation(only.reviewed_at)
        return None

    @extend_schema_field(
        inline_serializer("CopyCounts", {status: serializers.IntegerField() for status in VariantCopy.Status.values})
    )
    def get_copy_counts(self, variant: Variant) -> dict[str, int]:
        counts = {status: 0 for status in VariantCopy.Status.values}
        for row in variant.copies.all():
            counts[row.status] += 1
        return counts


class NamespaceField(serializers.ListField):
    """`[id, start, end]` or null."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.JSONField(), min_length=3, max_length=3, allow_null=True, **kwargs)

    def to_representation(self, value):
        return list(value) if value else None


class ProductField(serializers.SlugRelatedField):
    """A product by SKU. A SKU holding NUL cannot exist, and PostgreSQL refuses to compare it."""

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data.replace("\x00", ""))
        return super().to_internal_value(data)


class ExperimentSerializer(serializers.ModelSerializer):
    product = ProductField(
        slug_field="sku", queryset=Product.objects.all(), required=False, help_text="A one-product experiment's SKU."
    )
    products = serializers.JSONField(
        required=False,
        write_only=True,
        help_text='The product set: {"skus": [...]}, {"categories": [...]} or {"filter": {"categories", "brands", '
        '"price_min", "price_max", "attributes"}}.',
    )
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    namespace = NamespaceField(required=False)
    variants = VariantSerializer(many=True, required=False)
    category = serializers.SerializerMethodField()
    product_count = serializers.SerializerMethodField()

    class Meta:
        model = Experiment
        fields = [
            "key",
            "name",
            "hypothesis",
            "product",
            "products",
            "product_set",
            "product_count",
            "control_fallback",
            "category",
            "status",
            "primary_metric",
            "alpha",
            "correction",
            "seed",
            "coverage",
            "namespace",
            "allocation_mode",
            "bandit_holdout",
            "bandit_floor",
            "planned_units",
            "guardrail_metrics",
            "variants",
            "owner",
            "started_at",
            "stopped_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "product_set",
            "status",
            "owner",
            "started_at",
            "stopped_at",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {
            "coverage": {"min_value": 0.0001, "max_value": 1.0},
            "alpha": {"min_value": 0.001, "max_value": 0.5},
            "bandit_holdout": {"min_value": 0.05, "max_value": 1.0},
            "bandit_floor": {"min_value": 0.0, "max_value": 0.5},
            "planned_units": {"min_value": 1},
        }

    def to_representation(self, instance: Experiment) -> dict:
        data = super().to_representation(instance)
        product = instance.product
        data["product"] = product.sku if product is not None else None
        return data

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_category(self, experiment: Experiment) -> str | None:
        """The category of the set's products, when they share one."""
        names = {p.category.name for p in experiment.products.all()}
        return next(iter(names)) if len(names) == 1 else None

    @extend_schema_field(serializers.IntegerField())
    def get_product_count(self, experiment: Experiment) -> int:
        return len(experiment.products.all())

    def validate(self, attrs: dict) -> dict:
        if self.instance is None and ("product" in attrs) == ("products" in attrs):
            raise serializers.ValidationError(
                {"products": 'give either "product" (a SKU) or "products" (a product set), not both'}
            )
        return attrs

    def validate_variants(self, value: list[dict]) -> list[dict]:
        keys = [v["key"] for v in value]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise serializers.ValidationError(f"duplicate variant key(s): {', '.join(duplicates)}")
        return value


class AssignmentSerializer(serializers.Serializer):
    experiment = serializers.CharField()
    variant = serializers.CharField()
    product = serializers.CharField(help_text="The SKU whose copy this is.")
    copy = serializers.CharField()
    in_experiment = serializers.BooleanField()


class VariantCopySerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku")
    title = serializers.CharField(source="product.title")
    current_copy = serializers.CharField(source="product.current_copy")
    reviewed_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = VariantCopy
        fields = [
            "sku",
            "title",
            "current_copy",
            "copy",
            "status",
            "flags",
            "candidates",
            "error",
            "reviewed_by",
            "reviewed_at",
            "updated_at",
        ]


class HistoryEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    user = serializers.CharField(allow_null=True)
    action = serializers.CharField()
    changes = serializers.DictField(
        child=serializers.DictField(), help_text="field → {old, new}; variants as lists of their values"
    )


class ExperimentDetailSerializer(ExperimentSerializer):
    """One experiment with its history: who changed what, when, from which value to which."""

    history = serializers.SerializerMethodField()

    class Meta(ExperimentSerializer.Meta):
        fields = [*ExperimentSerializer.Meta.fields, "history"]
        read_only_fields = [*ExperimentSerializer.Meta.read_only_fields, "history"]

    @extend_schema_field(HistoryEntrySerializer(many=True))
    def get_history(self, experiment: Experiment) -> list[dict]:
        from experiments.history import experiment_history

        return experiment_history(experiment)
