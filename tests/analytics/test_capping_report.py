"""Capping of per-unit counts and revenue in the report: one threshold per column for all arms, applied to
every sum, square and cross product the column enters, with what it removed in `capping`."""

from __future__ import annotations

import numpy as np
import pytest

from analytics import services
from analytics.report.options import CapRule, ReportOptions, cap_rules_parse
from analytics.selectors import COLUMNS, PRODUCTS, nonzero_percentile, variant_aggregates
from ingest.models import UnitTotals
from tests.analytics.factories import Truth, traffic

pytestmark = pytest.mark.django_db


def test_cap_rules_parse_and_their_errors():
    assert cap_rules_parse(" orders:p99.5, clicks:40 ") == (
        CapRule("orders", percentile=99.5),
        CapRule("clicks", absolute=40.0),
    )
    assert cap_rules_parse("") == ()
    for bad, reason in (
        ("visits:5", "unknown column"),
        ("orders", "not column:pNN"),
        ("orders:pfive", "not column:pNN"),
        ("orders:p0", "percentile"),
        ("orders:p101", "percentile"),
        ("orders:0", "positive"),
        ("orders:inf", "not finite"),
    ):
        with pytest.raises(ValueError, match=reason):
            ReportOptions(caps=bad)
    # Revenue's own rule overrides the revenue percentile; 0 turns revenue capping off.
    assert ReportOptions(caps="revenue:500").cap_rules == (CapRule("revenue", absolute=500.0),)
    assert ReportOptions(revenue_cap_percentile=0, caps="").cap_rules == ()
    assert ReportOptions(caps="orders:2").cap_rules == (
        CapRule("revenue", percentile=99.0),
        CapRule("orders", absolute=2.0),
    )


def _capped_numpy(experiment, caps: dict[str, float]) -> dict[int, dict[str, float]]:
    rows = UnitTotals.objects.filter(experiment=experiment).values_list("variant_id", *COLUMNS)
    by_variant: dict[int, list] = {}
    for variant_id, *values in rows:
        by_variant.setdefault(variant_id, []).append(values)
    out = {}
    for variant_id, values in by_variant.items():
        array = np.asarray(values, dtype=float)
        for column, cap in caps.items():
            array[:, COLUMNS.index(column)] = np.minimum(array[:, COLUMNS.index(column)], cap)
        col = {name: array[:, i] for i, name in enumerate(COLUMNS)}
        sums = {"units": len(array)}
        for name, v in col.items():
            sums |= {name: v.sum(), f"sq_{name}": (v * v).sum()}
        for a, b in PRODUCTS:
            sums[f"x_{a}_{b}"] = (col[a] * col[b]).sum()
        out[variant_id] = sums
    return out


def test_counts_are_capped_in_every_sum_they_enter(two_arm):
    traffic(two_arm, units=1500, days=5, seed=4, visitor_spread=1.5, truths={"llm-l060": Truth(0.2, 0.08)})
    caps = {"clicks": 1.0, "impressions": 2.0, "revenue": 30.0}
    found = variant_aggregates(experiment=two_arm, caps=caps)
    for variant_id, want in _capped_numpy(two_arm, caps).items():
        got = found[variant_id].as_dict()
        for name, value in want.items():
            assert got[name] == pytest.approx(value, rel=1e-9), name
    values = [v for v in UnitTotals.objects.filter(experiment=two_arm, clicks__gt=0).values_list("clicks", flat=True)]
    assert nonzero_percentile(experiment=two_arm, column="clicks", percentile=90) == pytest.approx(
        float(np.percentile(values, 90))
    )


def test_report_caps_counts_and_says_what_it_removed(two_arm):
    traffic(two_arm, units=1500, days=5, seed=4, visitor_spread=1.5, truths={"llm-l060": Truth(0.2, 0.08)})
    plain = services.report_build(experiment=two_arm, backfill="never", options=ReportOptions(caps=""))
    report = services.report_build(
        experiment=two_arm, backfill="never", options=ReportOptions(caps="impressions:p50,clicks:1")
    )
    by_column = {c.column: c for c in report.capping}
    assert list(by_column) == ["revenue", "impressions", "clicks"]
    assert [c.column for c in plain.capping] == ["revenue"] and plain.revenue_capping is not None
    clicks = by_column["clicks"]
    assert clicks.cap == 1.0 and clicks.percentile is None and clicks.capped_units > 0
    assert clicks.metrics == ["ctr", "click_to_order", "atc_rate"]
    assert clicks.total_after < clicks.total_before
    assert clicks.capped_share == pytest.approx(1 - clicks.total_after / clicks.total_before)
    impressions = by_column["impressions"]
    assert impressions.percentile == 50.0 and impressions.cap is not None
    # The variants show the uncapped counts; the metrics read the capped ones.
    for capped_variant, plain_variant in zip(report.variants, plain.variants, strict=True):
        assert capped_variant.clicks == plain_variant.clicks and capped_variant.impressions == plain_variant.impressions
    treatment, plain_treatment = report.treatments[0], plain.treatments[0]
    assert treatment.metrics["ctr"].value != plain_treatment.metrics["ctr"].value
    assert treatment.metrics["cvr"].value != plain_treatment.metrics["cvr"].value  # its denominator is capped
    assert treatment.metrics["revenue_per_unit"].value == plain_treatment.metrics["revenue_per_unit"].value
