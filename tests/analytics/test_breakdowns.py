"""Catalog experiments in the report: excluded products, per-product and per-category breakdowns
(numbers against an independent computation from the raw events), the CSV rows and the page."""

from __future__ import annotations

import csv
import io
import uuid
from collections import defaultdict

import numpy as np
import pytest
from django.test import Client

from analytics import services
from analytics.lambdas import lambda_report_build
from analytics.report.csv_export import CSV_COLUMNS, report_csv
from analytics.stats import RatioStatistic, StatsConfig, adjust_p_values, fixed_horizon_test
from catalog.models import Category, Product
from ingest.models import Event
from ingest.store import events_store
from tests.ingest.test_products import (  # noqa: F401 (catalog_products is a fixture)
    _catalog_experiment,
    _event,
    _rows,
    catalog_products,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def storage_only(settings):
    settings.INGEST_MAX_CLICKS_PER_IMPRESSION = 0
    settings.INGEST_ORDERS_NEED_CLICK = False
    settings.INGEST_BURST_MAX_EVENTS_PER_SECOND = 0


def _traffic(rng: np.random.Generator, *, units: int = 120) -> None:
    ctr = {"CAT-A": 0.3, "CAT-B": 0.2, "CAT-C": 0.4}
    events, i = [], 0
    for u in range(units):
        for sku in rng.choice(list(ctr), size=rng.integers(1, 4), replace=False):
            for _ in range(rng.integers(1, 4)):
                events.append(_event(i, "impression", f"u-{u}", product=str(sku)))
                i += 1
                if rng.random() < ctr[sku]:
                    events.append(_event(i, "click", f"u-{u}", product=str(sku)))
                    i += 1
                    if rng.random() < 0.3:
                        events.append(_event(i, "order", f"u-{u}", product=str(sku), revenue=5.0))
                        i += 1
    rows = _rows(events)
    for start in range(0, len(rows), 200):
        events_store(batch_id=str(uuid.uuid4()), rows=rows[start : start + 200], write_key_id=None)


def _independent_row(experiment, sku: str, variant_key: str, metric=("clicks", "impressions")) -> RatioStatistic:
    """Per-unit totals on one product, straight from the raw events."""
    product = Product.objects.get(sku=sku)
    per_unit: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    for unit, type_ in Event.objects.filter(
        experiment=experiment, product=product, variant__key=variant_key
    ).values_list("unit", "type"):
        per_unit[unit][type_] += 1
    x = np.array(list(per_unit.values()))
    names = ("impressions", "clicks", "add_to_carts", "orders")
    return RatioStatistic.from_units(x[:, names.index(metric[0])], x[:, names.index(metric[1])])


@pytest.mark.usefixtures("catalog_products", "storage_only")
def test_breakdowns_match_an_independent_computation(marketer):
    experiment = _catalog_experiment(marketer, missing=("CAT-B",))
    _traffic(np.random.default_rng(3))
    report = services.report_build(experiment=experiment, backfill="never")
    assert report.excluded_products.count == 1 and report.excluded_products.skus == ["CAT-B"]
    assert any("out of the pooled analysis" in w for w in report.warnings)
    by_dimension = {b.dimension: b for b in report.breakdowns}
    products = by_dimension["product"]
    assert products.rows_total == 3 and products.excluded_rows == 1
    assert products.metrics == ["ctr", "cvr"]
    assert "Exploratory" in products.note
    units = [sum(row.units.values()) for row in products.rows]
    assert units == sorted(units, reverse=True)
    rows = {row.key: row for row in products.rows}
    assert rows["CAT-B"].excluded and not rows["CAT-A"].excluded
    p_values = []
    for sku in ("CAT-A", "CAT-B", "CAT-C"):
        control, treatment = (_independent_row(experiment, sku, key) for key in ("control", "b"))
        expected = fixed_horizon_test(control, treatment, StatsConfig())
        lift = rows[sku].metrics["ctr"].lifts["b"]
        assert lift.relative == pytest.approx(expected.estimate, rel=1e-9)
        assert lift.ci == pytest.approx((expected.ci_lower, expected.ci_upper), rel=1e-9)
        assert lift.p_value == pytest.approx(expected.p_value, rel=1e-9)
        assert rows[sku].metrics["ctr"].values["control"] == pytest.approx(control.mean)
        assert rows[sku].units == {"control": control.n, "b": treatment.n}
        p_values.append(lift.p_value)
    holm = adjust_p_values(p_values, "holm")
    assert [rows[s].metrics["ctr"].lifts["b"].p_value_adjusted for s in ("CAT-A", "CAT-B", "CAT-C")] == (
        pytest.approx(holm)
    )
    # Categories leave the excluded product out: Electronics is CAT-A alone here.
    categories = {row.key: row for row in by_dimension["category"].rows}
    assert set(categories) == {"Electronics", "Apparel"}
    assert categories["Electronics"].metrics["ctr"].lifts["b"].relative == pytest.approx(
        rows["CAT-A"].metrics["ctr"].lifts["b"].relative
    )
    # The pooled totals leave CAT-B out: pooled impressions are those of A and C.
    pooled_impressions = sum(v.impressions for v in report.variants)
    assert pooled_impressions == Event.objects.filter(type=0).exclude(product__sku="CAT-B").count()

    body = report.to_dict()
    assert body["excluded_products"]["skus"] == ["CAT-B"]
    assert body["breakdowns"][0]["rows"][0]["metrics"]["ctr"]["lifts"]["b"].keys() == {
        "relative",
        "ci",
        "p_value",
        "p_value_adjusted",
        "significant",
    }

    lines = list(csv.DictReader(io.StringIO(report_csv(report))))
    assert tuple(lines[0]) == CSV_COLUMNS
    # (the novelty rows, `day` and `exposure_cohort`, follow them)
    breakdown_lines = [line for line in lines if line["breakdown"] in ("product", "category")]
    # 3 products + 2 categories, 2 arms, 2 metrics.
    assert len(breakdown_lines) == (3 + 2) * 2 * 2
    a_b_ctr = next(
        line
        for line in breakdown_lines
        if (line["breakdown_key"], line["variant"], line["metric"]) == ("CAT-A", "b", "ctr")
    )
    assert float(a_b_ctr["p_value"]) == pytest.approx(p_values[0])
    assert {line["excluded"] for line in breakdown_lines if line["breakdown_key"] == "CAT-B"} == {"true"}


@pytest.mark.usefixtures("catalog_products", "storage_only")
def test_report_page_shows_breakdown_tables(marketer, analyst):
    _catalog_experiment(marketer)
    _traffic(np.random.default_rng(5), units=40)
    client = Client()
    client.force_login(analyst)
    page = client.get("/reports/catalog/")
    assert page.status_code == 200, page.status_code
    html = page.content.decode()
    assert "Per product" in html and "CAT-A" in html and "Exploratory" in html


@pytest.mark.usefixtures("catalog_products", "storage_only")
def test_lambda_page_puts_a_catalog_experiments_arms_on_each_categorys_curve(marketer):
    from ingest.models import BreakdownStats, Dimension

    experiment = _catalog_experiment(marketer, lambda_value=0.6)
    _traffic(np.random.default_rng(8), units=80)
    experiment.status = "stopped"
    experiment.save(update_fields=["status"])
    entries = {entry.category: entry for entry in lambda_report_build()}
    for name in ("Electronics", "Apparel"):
        points = [p for p in entries[name].arms if p.experiment == "catalog"]
        assert [p.lambda_value for p in points] == [0.6], name
        category = BreakdownStats.objects.get(
            experiment=experiment,
            dimension=Dimension.CATEGORY,
            variant__key="b",
            key=Category.objects.get(name=name).pk,
        )
        assert points[0].units == category.units  # the units of that category, not of the whole experiment


@pytest.mark.usefixtures("catalog_products", "storage_only")
def test_raw_event_scans_leave_excluded_products_out_like_the_totals(marketer):
    from analytics.event_scans import daily_aggregates_from_events, variant_aggregates_from_events
    from analytics.selectors import variant_aggregates

    experiment = _catalog_experiment(marketer, missing=("CAT-B",))
    _traffic(np.random.default_rng(4), units=50)
    live = variant_aggregates(experiment=experiment)
    assert variant_aggregates_from_events(experiment=experiment) == live
    assert daily_aggregates_from_events(experiment=experiment)[-1][1] == live
