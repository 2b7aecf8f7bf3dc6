"""The catalog-experiment migration keeps existing one-product experiments whole: each becomes a
set of one, and each variant's copy and approval move to that product's copy row (and back)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

BEFORE = [("experiments", "0006_report_plan_guardrails"), ("catalog", "0001_initial")]
AFTER = [("experiments", "0007_catalog_experiments"), ("catalog", "0002_product_copy")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_one_product_experiments_become_sets_of_one_and_back():
    old = _migrate(BEFORE)
    try:
        user = old.get_model("auth", "User").objects.create(username="mia")
        category = old.get_model("catalog", "Category").objects.get(name="Electronics")
        product = old.get_model("catalog", "Product").objects.create(
            sku="OLD-1", title="Earbuds", brand="Voltora", category=category, price=10, description="Desc."
        )
        experiment = old.get_model("experiments", "Experiment").objects.create(key="old", name="Old", product=product)
        Variant = old.get_model("experiments", "Variant")
        approved_at = timezone.now()
        Variant.objects.create(
            experiment=experiment,
            key="control",
            is_control=True,
            copy="Control copy.",
            approved=True,
            approved_by=user,
            approved_at=approved_at,
        )
        Variant.objects.create(experiment=experiment, key="llm-l040", lambda_value=0.4, copy="Draft copy.")

        new = _migrate(AFTER)
        migrated = new.get_model("experiments", "Experiment").objects.get(key="old")
        assert migrated.product_set == {"skus": ["OLD-1"]}
        ExperimentProduct = new.get_model("experiments", "ExperimentProduct")
        assert list(ExperimentProduct.objects.filter(experiment=migrated).values_list("product__sku", flat=True)) == [
            "OLD-1"
        ]
        copies = {
            row.variant.key: row
            for row in new.get_model("experiments", "VariantCopy").objects.select_related("variant", "product")
        }
        assert copies["control"].copy == "Control copy." and copies["control"].status == "approved"
        assert copies["control"].reviewed_by_id == user.pk and copies["control"].reviewed_at == approved_at
        assert copies["llm-l040"].copy == "Draft copy." and copies["llm-l040"].status == "pending"
        assert new.get_model("catalog", "Product").objects.get(sku="OLD-1").copy == "Desc."

        back = _migrate(BEFORE)
        restored = back.get_model("experiments", "Variant").objects.get(key="control")
        assert restored.copy == "Control copy." and restored.approved and restored.approved_by_id == user.pk
        assert back.get_model("experiments", "Experiment").objects.get(key="old").product_id == product.pk
    finally:
        _migrate(_leaf_nodes())


def _leaf_nodes():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()
