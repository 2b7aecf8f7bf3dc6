"""Catalog experiments: an experiment covers a set of products and each arm has one copy per
product (`VariantCopy`), with its review state.

Existing one-product experiments become sets of one: their product becomes the only
`ExperimentProduct` (and `product_set` = {"skus": [sku]}); each variant's copy and approval move
to the `VariantCopy` of that product. The reverse migration moves them back.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def one_product_sets(apps, schema_editor):
    Experiment = apps.get_model("experiments", "Experiment")
    ExperimentProduct = apps.get_model("experiments", "ExperimentProduct")
    Variant = apps.get_model("experiments", "Variant")
    VariantCopy = apps.get_model("experiments", "VariantCopy")
    for experiment in Experiment.objects.select_related("product").iterator():
        ExperimentProduct.objects.get_or_create(experiment_id=experiment.pk, product_id=experiment.product_id)
        experiment.product_set = {"skus": [experiment.product.sku]}
        experiment.save(update_fields=["product_set"])
        for variant in Variant.objects.filter(experiment_id=experiment.pk):
            VariantCopy.objects.update_or_create(
                variant_id=variant.pk,
                product_id=experiment.product_id,
                defaults={
                    "copy": variant.copy,
                    "status": "approved" if variant.approved else "pending",
                    "reviewed_by_id": variant.approved_by_id,
                    "reviewed_at": variant.approved_at,
                },
            )


def one_product_sets_reverse(apps, schema_editor):
    Experiment = apps.get_model("experiments", "Experiment")
    ExperimentProduct = apps.get_model("experiments", "ExperimentProduct")
    VariantCopy = apps.get_model("experiments", "VariantCopy")
    for experiment in Experiment.objects.all():
        first = ExperimentProduct.objects.filter(experiment_id=experiment.pk).order_by("pk").first()
        if first is None:
            raise RuntimeError(f"experiment {experiment.key} has no product; cannot migrate back")
        experiment.product_id = first.product_id
        experiment.save(update_fields=["product"])
        for row in VariantCopy.objects.filter(variant__experiment_id=experiment.pk, product_id=first.product_id):
            variant = row.variant
            variant.copy = row.copy
            variant.approved = row.status == "approved"
            variant.approved_by_id = row.reviewed_by_id if variant.approved else None
            variant.approved_at = row.reviewed_at if variant.approved else None
            variant.save()


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0002_product_copy"),
        ("experiments", "0006_report_plan_guardrails"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ExperimentProduct",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "experiment",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="experiments.experiment"
                    ),
                ),
                (
                    "product",
                    models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="catalog.product"),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("experiment", "product"), name="experiment_product_unique")
                ],
                "indexes": [models.Index(fields=["product"], name="experimentproduct_product")],
            },
        ),
        migrations.CreateModel(
            name="VariantCopy",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("copy", models.TextField(blank=True)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Pending review"),
                            ("approved", "Approved"),
                            ("rejected", "Rejected"),
                            ("failed", "Generation failed"),
                        ],
                        db_index=True,
                        default="pending",
                        max_length=16,
                    ),
                ),
                (
                    "flags",
                    models.JSONField(blank=True, default=list, help_text="What the checks found (brand rule, guards…)."),
                ),
                (
                    "candidates",
                    models.JSONField(
                        blank=True, default=list, help_text="The chosen copy and the runner-ups with their scores."
                    ),
                ),
                ("error", models.TextField(blank=True, help_text="Why generation failed, for a failed product.")),
                ("reviewed_at", models.DateTimeField(blank=True, null=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "product",
                    models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="catalog.product"),
                ),
                (
                    "reviewed_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "variant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="copies", to="experiments.variant"
                    ),
                ),
            ],
            options={
                "ordering": ["variant", "product__sku"],
                "constraints": [
                    models.UniqueConstraint(fields=("variant", "product"), name="variantcopy_variant_product")
                ],
            },
        ),
        migrations.AddField(
            model_name="experiment",
            name="products",
            field=models.ManyToManyField(
                related_name="experiments", through="experiments.ExperimentProduct", to="catalog.product"
            ),
        ),
        migrations.AddField(
            model_name="experiment",
            name="product_set",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text='Which products: {"skus": [...]}, {"categories": [...]} or {"filter": {...}}; resolved '
                "into the experiment's products while it is a draft, frozen at start.",
            ),
        ),
        migrations.AddField(
            model_name="experiment",
            name="control_fallback",
            field=models.BooleanField(
                default=False,
                help_text="Start even where an arm lacks approved copy for a product: that arm shows the control "
                "copy there, and those products are left out of the analysis.",
            ),
        ),
        migrations.AddField(
            model_name="variant",
            name="prompt_version",
            field=models.CharField(blank=True, help_text="LLM arms: the prompt version to write with.", max_length=32),
        ),
        migrations.AddField(
            model_name="variant",
            name="model_name",
            field=models.CharField(
                blank=True, help_text="LLM arms: the model (empty: the platform's default).", max_length=200
            ),
        ),
        migrations.AddField(
            model_name="variant",
            name="adapter",
            field=models.CharField(blank=True, help_text="LLM arms: an optional fine-tuned adapter.", max_length=200),
        ),
        # Nullable (or with a default) first, so that migrating back can re-add the columns before
        # filling them.
        migrations.AlterField(model_name="variant", name="copy", field=models.TextField(blank=True, default="")),
        migrations.AlterField(
            model_name="experiment",
            name="product",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="catalog.product"
            ),
        ),
        migrations.RunPython(one_product_sets, one_product_sets_reverse),
        migrations.RemoveField(model_name="experiment", name="product"),
        migrations.RemoveField(model_name="variant", name="copy"),
        migrations.RemoveField(model_name="variant", name="approved"),
        migrations.RemoveField(model_name="variant", name="approved_by"),
        migrations.RemoveField(model_name="variant", name="approved_at"),
    ]
