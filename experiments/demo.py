"""The demo that `make run` seeds: the catalog, brand rules and one experiment per category.

Idempotent: running it again updates the catalog in place and leaves existing demo
experiments (and their traffic) alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from experiments import services
from experiments.catalog import DEMO_CATALOG, DEMO_GUIDELINES, guidelines_import, products_import_csv
from experiments.models import Experiment, Product
from experiments.writekeys import write_key_authenticate, write_key_create

DEMO_WRITE_KEY_NAME = "demo storefront"

# One demo experiment per category: the product and the hypothesis it tests.
DEMO_EXPERIMENTS = (
    ("demo-headphones", "ELEC-001", "Spec-led LLM copy lifts CTR on the ANC headphones page"),
    ("demo-crisps", "FMCG-001", "Playful, urgent LLM copy lifts CTR on the lentil crisps page"),
    ("demo-tee", "APP-001", "Style-led LLM copy lifts CTR on the organic tee page"),
)


@dataclass
class DemoReport:
    write_key_file: str = ""
    products_loaded: int = 0
    experiments_created: list[str] = field(default_factory=list)
    experiments_existing: list[str] = field(default_factory=list)


@transaction.atomic
def demo_catalog_seed() -> int:
    guidelines_import(path=DEMO_GUIDELINES)
    report = products_import_csv(path=DEMO_CATALOG)
    if report.errors:  # the shipped file is tested; this guards against a broken edit of it
        raise RuntimeError(f"demo catalog has bad rows: {report.errors}")
    return report.loaded


def demo_experiment_create(*, key: str, sku: str, hypothesis: str) -> Experiment:
    """A draft experiment whose control is the product's current description."""
    product = Product.objects.select_related("category").get(sku=sku)
    return services.experiment_create(
        key=key,
        name=f"Demo: {product.title}",
        product=product,
        hypothesis=hypothesis,
        primary_metric=Experiment.Metric.CTR,
        variants=[
            {
                "key": "control",
                "name": "Current description",
                "is_control": True,
                "copy": product.description,
                "weight": 1,
                "approved": True,
            }
        ],
    )


def demo_write_key() -> str:
    """The demo storefront's write key, kept in `var/demo_write_key` for the demo page and the
    simulator. A local development convenience: real storefronts get keys from the admin."""
    path = settings.VAR_DIR / "demo_write_key"
    if path.exists() and write_key_authenticate(path.read_text().strip()) is not None:
        return path.read_text().strip()
    _, clear = write_key_create(name=DEMO_WRITE_KEY_NAME)
    path.write_text(clear + "\n")
    path.chmod(0o600)
    return clear


def demo_seed() -> DemoReport:
    demo_write_key()
    report = DemoReport(products_loaded=demo_catalog_seed(), write_key_file=str(settings.VAR_DIR / "demo_write_key"))
    for key, sku, hypothesis in DEMO_EXPERIMENTS:
        if Experiment.objects.filter(key=key).exists():
            report.experiments_existing.append(key)
            continue
        demo_experiment_create(key=key, sku=sku, hypothesis=hypothesis)
        report.experiments_created.append(key)
    return report
