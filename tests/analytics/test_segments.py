"""Segments: the report broken down by a unit attribute (device, visitor, source, country), adjusted across the
segment's rows, with an exploratory warning; bad `segment` values are a 400 naming the field."""

from __future__ import annotations

import csv
import io
import random

import pytest

from analytics import services
from analytics.report.csv_export import report_csv
from analytics.report.options import ReportOptions
from analytics.stats import StatsConfig
from analytics.stats.frequentist import fixed_horizon_test
from analytics.stats.multiple import holm
from analytics.stats.statistics import RatioStatistic
from ingest.models import UnitAttributes, UnitTotals
from tests.analytics.factories import Truth, traffic
from tests.analytics.test_report_contract import BREAKDOWN_LIFT, assert_valid, shape

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]

DEVICES = ("desktop", "mobile", "tablet")


@pytest.fixture
def segmented(make_experiment):
    experiment = make_experiment("segmented", start=True)
    traffic(experiment, units=3000, days=3, seed=8, truths={"llm-l060": Truth(0.12, 0.05)})
    rng = random.Random(8)
    units = list(UnitTotals.objects.filter(experiment=experiment).values_list("unit", flat=True).distinct())
    # a tenth of the units sent no attributes: the row "unknown"
    UnitAttributes.objects.bulk_create(
        UnitAttributes(
            experiment=experiment,
            unit=unit,
            device=rng.choice(DEVICES),
            visitor=rng.choice(("new", "returning")),
            created_at=experiment.started_at,
        )
        for unit in units
        if rng.random() < 0.9
    )
    return experiment


def _independent(experiment, device: str | None, variant_key: str) -> RatioStatistic:
    with_device = set(UnitAttributes.objects.filter(experiment=experiment).values_list("unit", flat=True))
    wanted = set(UnitAttributes.objects.filter(experiment=experiment, device=device).values_list("unit", flat=True))
    rows = [
        (t.clicks, t.impressions)
        for t in UnitTotals.objects.filter(experiment=experiment, variant__key=variant_key)
        if (t.unit in wanted if device else t.unit not in with_device)
    ]
    return RatioStatistic.from_units([r[0] for r in rows], [r[1] for r in rows])


def test_breakdown_by_device_matches_an_independent_computation(segmented):
    report = services.report_build(experiment=segmented, options=ReportOptions(segment="device"), backfill="never")
    breakdown = next(b for b in report.breakdowns if b.dimension == "device")
    assert breakdown.metrics == list(report.metrics)  # any metric of the report
    assert {row.key for row in breakdown.rows} == {*DEVICES, "unknown"}
    assert "Exploratory" in breakdown.note and "device" in breakdown.note
    assert any(w.startswith("The breakdown by device is exploratory") for w in report.warnings)
    rows = {row.key: row for row in breakdown.rows}
    p_values = []
    for device in (*DEVICES, None):
        for key in ("llm-l040", "llm-l060"):
            expected = fixed_horizon_test(
                _independent(segmented, device, "control"), _independent(segmented, device, key), StatsConfig()
            )
            lift = rows[device or "unknown"].metrics["ctr"].lifts[key]
            assert lift.relative == pytest.approx(expected.estimate, rel=1e-9)
            assert lift.p_value == pytest.approx(expected.p_value, rel=1e-9)
            p_values.append((device, key, lift.p_value))
    # Holm across the segment's 4 rows × 2 treatment arms of the metric: one family
    adjusted = holm([p for _, _, p in p_values])
    for (device, key, _), expected in zip(p_values, adjusted, strict=True):
        assert rows[device or "unknown"].metrics["ctr"].lifts[key].p_value_adjusted == pytest.approx(expected)
    for variant in report.variants:
        assert sum(row.units[variant.key] for row in breakdown.rows) == variant.units
    data = report.to_dict()
    assert_valid(data)
    pinned = shape(data["breakdowns"][0], "breakdowns[]")
    assert pinned["rows"][0]["metrics"]["<key>"]["lifts"]["<key>"] == BREAKDOWN_LIFT
    lines = [line for line in csv.DictReader(io.StringIO(report_csv(report))) if line["breakdown"] == "device"]
    assert {line["breakdown_key"] for line in lines} == {*DEVICES, "unknown"}


def test_no_segment_no_breakdown_and_a_one_product_report_stays_as_it_was(segmented):
    report = services.report_build(experiment=segmented, backfill="never")
    assert report.breakdowns == [] and not any("exploratory" in w for w in report.warnings)


def test_segment_through_the_api_and_a_bad_one_is_a_400(segmented, analyst_client, client, analyst):
    ok = analyst_client.get(f"/api/v1/experiments/{segmented.key}/report?segment=visitor")
    assert ok.status_code == 200
    assert [b["dimension"] for b in ok.json()["breakdowns"]] == ["visitor"]
    assert {r["key"] for r in ok.json()["breakdowns"][0]["rows"]} == {"new", "returning", "unknown"}
    for path in ("report", "report.csv"):
        bad = analyst_client.get(f"/api/v1/experiments/{segmented.key}/{path}?segment=browser")
        assert bad.status_code == 400
        assert "segment must be one of device, visitor, source, country" in bad.json()["fields"]["segment"]
    client.force_login(analyst)
    page = client.get(f"/reports/{segmented.key}/?segment=device")
    assert page.status_code == 200
    assert b"Per device (segment)" in page.content and b"Exploratory: each device" in page.content
    assert client.get(f"/reports/{segmented.key}/?segment=browser").status_code == 400
