"""API shapes for experiments. Validation of single fields lives here; rules that involve the
experiment's state live in `experiments.services`."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import Product
from experiments.models import UNIT_MAX_LENGTH, VARIANT_FIELDS, VARIANT_READ_ONLY_FIELDS, Experiment, Variant


class VariantSerializer(serializers.ModelSerializer):
    approved_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Variant
        fields = [*VARIANT_FIELDS]
        read_only_fields = [*VARIANT_READ_ONLY_FIELDS]
        extra_kwargs = {
            "lambda_value": {"source": "lambda_value", "min_value": 0.0, "max_value": 1.0},
            "weight": {"min_value": 0.0},
            "source": {"required": False},
        }

    def get_fields(self):
        # The API calls it `lambda` (a Python keyword, hence the model's `lambda_value`).
        return {("lambda" if name == "lambda_value" else name): field for name, field in super().get_fields().items()}


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
    product = ProductField(slug_field="sku", queryset=Product.objects.all())
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    namespace = NamespaceField(required=False)
    variants = VariantSerializer(many=True, required=False)
    category = serializers.CharField(source="product.category.name", read_only=True)

    class Meta:
        model = Experiment
        fields = [
            "key",
            "name",
            "hypothesis",
            "product",
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

    def validate_variants(self, value: list[dict]) -> list[dict]:
        keys = [v["key"] for v in value]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise serializers.ValidationError(f"duplicate variant key(s): {', '.join(duplicates)}")
        return value


class AssignQuerySerializer(serializers.Serializer):
    experiment = serializers.SlugField(max_length=64)
    unit = serializers.CharField(max_length=UNIT_MAX_LENGTH, trim_whitespace=False)


class AssignmentSerializer(serializers.Serializer):
    experiment = serializers.CharField()
    variant = serializers.CharField()
    copy = serializers.CharField()
    in_experiment = serializers.BooleanField()


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
