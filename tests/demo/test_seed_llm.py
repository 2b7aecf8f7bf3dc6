"""`seed_demo --llm` with the real default model (SmolLM2-135M on CPU), end to end, made small:
the catalog demo cut to three products, few visitors (the one-product demos' generation is the
same generator, checked in tests/generator/test_llm.py). What the model writes varies;
what is checked is that nothing unchecked reaches a shopper and that the traffic is labelled."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from demo import seed
from experiments.copies import copy_flags
from experiments.models import Experiment, VariantCopy
from ingest.models import Event

pytestmark = [pytest.mark.llm, pytest.mark.slow, pytest.mark.django_db]


def test_seed_demo_llm_with_the_real_generator(settings, tmp_path, monkeypatch):
    settings.VAR_DIR = tmp_path
    settings.GENERATOR_DEVICE = "cpu"
    settings.GENERATOR_MAX_NEW_TOKENS = 32
    monkeypatch.setattr(seed, "DEMO_EXPERIMENTS", ())
    monkeypatch.setattr(seed, "DEMO_VISITORS", 300)
    call_command("seed_demo", stdout=StringIO())  # the drafts, then the catalog demo cut to three products
    from experiments.services import experiment_update

    catalog = Experiment.objects.get(key=seed.DEMO_CATALOG_EXPERIMENT)
    experiment_update(experiment=catalog, data={"products": {"skus": ["APP-002", "APP-006", "APP-016"]}})
    out = StringIO()
    call_command("seed_demo", "--llm", stdout=out)

    catalog.refresh_from_db()
    llm = VariantCopy.objects.filter(variant__experiment=catalog, variant__is_control=False)
    if catalog.status == Experiment.Status.DRAFT:  # no copy passed at either λ: left as a draft, said so
        assert f"{catalog.key}: no LLM candidate passed the copy guards" in out.getvalue()
        assert not llm.filter(status=VariantCopy.Status.APPROVED).exists()
    else:
        assert catalog.status == Experiment.Status.RUNNING and catalog.simulated_traffic
        approved = llm.filter(status=VariantCopy.Status.APPROVED).select_related("product__category")
        assert approved.exists()
        for row in approved:  # approved only where every check passes
            assert copy_flags(row.copy, row.product) == []
        assert Event.objects.filter(experiment=catalog).exists()
