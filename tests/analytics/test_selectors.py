"""The selector's one aggregate query equals the sums computed by hand from the unit totals."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.selectors import METRICS, units_in_several_variants, variant_aggregates
from ingest.models import UnitTotals

pytestmark = pytest.mark.django_db


def test_aggregates_match_hand_sums(make_experiment):
    experiment = make_experiment(start=True)
    variants = list(experiment.variants.all())
    rng = random.Random(4)
    now = timezone.now()
    rows = []
    for i in range(300):
        variant = variants[i % 2]  # the third variant gets no units
        imp = rng.randint(0, 4)
        clicks = rng.randint(0, imp + 1)
        atc = rng.randint(0, clicks)
        orders = rng.randint(0, atc)
        rows.append(
            UnitTotals(
                experiment=experiment,
                variant=variant,
                unit=f"u{i}",
                impressions=imp,
                clicks=clicks,
                add_to_carts=atc,
                orders=orders,
                revenue=orders * 12.5,
                first_seen=now,
                last_seen=now + timedelta(hours=1),
            )
        )
    UnitTotals.objects.bulk_create(rows)
    aggregates = variant_aggregates(experiment=experiment)
    for variant in variants[:2]:
        mine = [r for r in rows if r.variant_id == variant.pk]
        agg = aggregates[variant.pk]
        assert agg.units == len(mine)
        assert agg.clicks == sum(r.clicks for r in mine)
        assert agg.sq_orders == sum(r.orders**2 for r in mine)
        assert agg.x_clicks_impressions == sum(r.clicks * r.impressions for r in mine)
        assert agg.x_add_to_carts_clicks == sum(r.add_to_carts * r.clicks for r in mine)
        assert agg.sq_revenue == pytest.approx(sum(r.revenue**2 for r in mine))
        assert agg.units_without_impression == sum(r.impressions == 0 for r in mine)
        ctr = agg.statistic("ctr")
        assert ctr.mean == pytest.approx(sum(r.clicks for r in mine) / sum(r.impressions for r in mine))
        for metric in METRICS:
            assert agg.statistic(metric).n == len(mine)
    assert aggregates[variants[2].pk].units == 0
    assert units_in_several_variants(experiment=experiment) == 0
    UnitTotals.objects.create(experiment=experiment, variant=variants[1], unit="u0", first_seen=now, last_seen=now)
    assert units_in_several_variants(experiment=experiment) == 1
