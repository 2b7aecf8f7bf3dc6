"""The report's JSON contract: its keys and nesting are pinned, and the generated OpenAPI schema
describes the JSON that the API really sends (fixed and bandit allocation, every decision shape)."""

from __future__ import annotations

from typing import Any

import jsonschema
import numpy as np
import pytest
from django.utils import timezone

from analytics import services
from analytics.allocation import allocation_reweight
from analytics.report.types import report_schema
from experiments.assignment import snapshot_cache_clear
from experiments.models import Experiment
from tests.analytics.factories import Truth, traffic
from tests.ingest.test_products import catalog_products  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

# Objects keyed by data (variant keys, metric names) rather than by field names: one entry stands for all.
KEYED_BY_DATA = {
    "metric_scales",
    "metric_settings",
    "srm.observed",
    "srm.expected",
    "variants[].metrics",
    "timeseries[].units",
    "timeseries[].new_units",
    "timeseries[].lift",
    "timeseries[].lift.*",
    "allocation.all_traffic",
    "breakdowns[].rows[].units",
    "breakdowns[].rows[].metrics",
    "breakdowns[].rows[].metrics.*.values",
    "breakdowns[].rows[].metrics.*.lifts",
    "novelty.daily[].units",
    "novelty.daily[].metrics",
    "novelty.daily[].metrics.*.values",
    "novelty.daily[].metrics.*.lifts",
    "novelty.trend",
    "novelty.trend.*",
    "novelty.cohorts[].units",
    "novelty.cohorts[].metrics",
    "novelty.cohorts[].metrics.*.values",
    "novelty.cohorts[].metrics.*.lifts",
    "novelty.cohort_difference",
    "novelty.cohort_difference.*",
}


def shape(value: Any, path: str = "") -> Any:
    """The JSON's keys (in order) and nesting, leaves as "*": what a client's parser depends on.

    Lists become their distinct item shapes; objects keyed by data become {"<key>": item shape}.
    """
    if isinstance(value, dict):
        if path in KEYED_BY_DATA:
            items = [shape(item, f"{path}.*") for item in value.values()]
            return {"<key>": items[0]} if items else {}
        return {key: shape(item, f"{path}.{key}".lstrip(".")) for key, item in value.items()}
    if isinstance(value, list):
        if not value or not isinstance(value[0], dict):
            return "*[]"
        distinct: list[Any] = []
        for item in value:
            if (item_shape := shape(item, f"{path}[]")) not in distinct:
                distinct.append(item_shape)
        return distinct
    return "*"


def keys_in_order(value: Any) -> Any:
    if isinstance(value, dict):
        return [(key, keys_in_order(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [keys_in_order(item) for item in value]
    return value


LIFT = {
    key: "*"
    for key in (
        "absolute",
        "relative",
        "ci",
        "ci_absolute",
        "scale",
        "p_value",
        "p_value_adjusted",
        "sequential_ci",
        "sequential_ci_absolute",
        "sequential_p_value",
        "sequential_p_value_adjusted",
        "sequential_decision",
        "chance_to_beat_control",
        "expected_loss",
        "significant",
        "sequential_significant",
        "warning",
        "error",
        # Added with the analyst-grade wiring: the headline on the metric's scale and the fixed test's method.
        "estimate",
        "estimate_ci",
        "estimate_sequential_ci",
        "method",
        "method_warning",
        # Added with CUPED: the lift without the covariate, and the adjustment (null: not adjusted; shapes below).
        "unadjusted",
        "cuped",
    )
}
LIFT["ci"] = LIFT["ci_absolute"] = LIFT["sequential_ci"] = LIFT["sequential_ci_absolute"] = "*[]"
LIFT["estimate_ci"] = LIFT["estimate_sequential_ci"] = "*[]"
VARIANT = {
    **dict.fromkeys(("key", "name", "is_control", "lambda", "source", "weight", "copy", "diversity", "novelty"), "*"),
    **dict.fromkeys(("p_conv", "units", "impressions", "clicks", "add_to_carts", "orders", "revenue"), "*"),
    "metrics": {"<key>": {"value": "*", "lift": "*"}},  # the control's lift is null; see TREATMENT
}
TREATMENT = {**VARIANT, "metrics": {"<key>": {"value": "*", "lift": LIFT}}}
DAYS_LEFT = dict.fromkeys(
    ("days_left", "relative_lift", "power", "variant", "daily_units", "units_needed", "current_power", "error"), "*"
)
# Added with the novelty views: the daily lift (each day's activity alone), its trend, and the lift by
# exposure cohort (units first exposed in week 1 vs later).
PERIOD_LIFT = {"estimate": "*", "scale": "*", "ci": "*[]", "p_value": "*"}
PERIOD_METRIC = {"<key>": {"values": {"<key>": "*"}, "lifts": {"<key>": PERIOD_LIFT}}}
NOVELTY = {
    "metrics": "*[]",
    "note": "*",
    "daily": [{"day": "*", "partial": "*", "units": {"<key>": "*"}, "metrics": PERIOD_METRIC}],
    "trend": {
        "<key>": {
            "<key>": dict.fromkeys(("days", "slope", "ci", "p_value", "mean_lift", "fitted", "fading", "error"), "*")
            | {"ci": "*[]", "fitted": "*[]"}
        }
    },
    "cohort_boundary": "*",
    # week 1, and the later cohort, still empty after 3 days (its lifts have no interval)
    "cohorts": [
        {"cohort": "*", "units": {"<key>": "*"}, "metrics": PERIOD_METRIC},
        {
            "cohort": "*",
            "units": {"<key>": "*"},
            "metrics": {"<key>": {"values": {"<key>": "*"}, "lifts": {"<key>": PERIOD_LIFT | {"ci": "*"}}}},
        },
    ],
    "cohort_difference": {"<key>": {"<key>": {"estimate": "*", "ci": "*", "p_value": "*"}}},
    "fading": "*[]",
}
REPORT = {
    **dict.fromkeys(("experiment", "name", "status"), "*"),
    "simulated_traffic": "*",  # added with the demo's label: events from the traffic simulator
    "product": {"sku": "*", "title": "*", "category": "*", "count": "*"},  # count: a catalog experiment's products
    **dict.fromkeys(("primary_metric", "computed_at", "started_at", "stopped_at", "days_running", "alpha"), "*"),
    **dict.fromkeys(("sequential_method", "sequential_tuning_n", "min_units_per_arm", "correction"), "*"),
    "minimum_lift": "*",
    "metrics": "*[]",
    "metric_scales": {"<key>": "*"},
    "units": "*",
    "units_in_several_variants": "*",
    "srm": {
        "p_value": "*",
        "flag": "*",
        "observed": {"<key>": "*"},
        "expected": {"<key>": "*"},
        "chi_square": "*",
        "threshold": "*",
        "reason": "*",
    },
    "variants": [VARIANT, TREATMENT],
    "decision": {
        "status": "*",
        "winner": "*",
        "metric": "*",
        "days_left": "*",
        "days_left_detail": DAYS_LEFT,
        "text": "*",
    },
    "warnings": "*[]",
    "snapshots": {"count": "*", "first_day": "*", "last_day": "*", "backfill": "*"},
    "timeseries": [
        {
            "day": "*",
            "taken_at": "*",
            "source": "*",
            "units": {"<key>": "*"},
            "new_units": {"<key>": "*"},
            "lift": {"<key>": {"<key>": {"relative": "*", "sequential_ci": "*[]", "sequential_p_value": "*"}}},
        }
    ],
    "metric_settings": {"<key>": {"scale": "*", "scale_note": "*", "msprt_tau": "*", "guardrail": "*"}},
    "guardrail_metrics": "*[]",
    "plan": dict.fromkeys(
        (
            "planned_units",
            "source",
            "planned_days",
            "units_so_far",
            "information_fraction",
            "metric",
            "relative_lift",
            "power",
            "ended",
            "error",
        ),
        "*",
    ),
    "revenue_capping": dict.fromkeys(
        (
            "percentile",
            "cap",
            "units",
            "capped_units",
            "capped_unit_share",
            "revenue_before",
            "revenue_after",
            "capped_revenue_share",
            "note",
        ),
        "*",
    ),
    # Added with count capping: every capped per-unit total (here revenue alone, the default).
    "capping": [
        {
            **dict.fromkeys(("column", "metrics", "percentile", "cap", "units", "capped_units"), "*"),
            **dict.fromkeys(("capped_unit_share", "total_before", "total_after", "capped_share"), "*"),
            "metrics": "*[]",
        }
    ],
    "data_quality": {
        "quarantined_events": "*",
        "quarantined_units": "*",
        "quarantined_by_reason": {},
        "impossible_rates": "*[]",
    },
    # A one-product experiment: no excluded products, no breakdowns (see CATALOG below).
    "excluded_products": "*",
    "breakdowns": "*[]",
    "novelty": NOVELTY,
    # Added with CUPED: the covariate's lookback and coverage (this traffic has no pre-exposure events).
    "cuped": {
        **{"lookback_days": "*", "units": "*", "units_with_pre_exposure_data": "*", "metrics": "*[]", "note": "*"},
        **{"covariate": "*", "imbalanced": "*[]"},
    },
}
# A CUPED-adjusted lift (tests/analytics/test_cuped_report.py): the unadjusted numbers and the adjustment.
UNADJUSTED_LIFT = {
    **dict.fromkeys(("absolute", "relative", "ci", "ci_absolute", "p_value", "p_value_adjusted"), "*"),
    **{"estimate": "*", "estimate_ci": "*"},
}
UNADJUSTED_LIFT["ci"] = UNADJUSTED_LIFT["ci_absolute"] = UNADJUSTED_LIFT["estimate_ci"] = "*[]"
CUPED_LIFT = {"theta": "*", "variance_reduction": "*"}


BREAKDOWN_LIFT = {"relative": "*", "ci": "*[]", "p_value": "*", "p_value_adjusted": "*", "significant": "*"}
BREAKDOWN = {
    "dimension": "*",
    "metrics": "*[]",
    "correction": "*",
    "rows_total": "*",
    "excluded_rows": "*",
    "significant_rows": "*",
    "note": "*",
    "rows": [
        {
            "key": "*",
            "title": "*",
            "category": "*",
            "excluded": "*",
            "units": {"<key>": "*"},
            "metrics": {"<key>": {"values": {"<key>": "*"}, "lifts": {"<key>": BREAKDOWN_LIFT}}},
        }
    ],
    "rest": "*",  # null: every row listed; see the test below for the summary's shape
}
CATALOG = {"excluded_products": {"count": "*", "skus": "*[]", "reason": "*"}, "breakdowns": [BREAKDOWN]}


def _openapi_to_jsonschema(schema: Any) -> Any:
    """OpenAPI 3.0's `nullable` as JSON Schema's null type, recursively."""
    if isinstance(schema, list):
        return [_openapi_to_jsonschema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: _openapi_to_jsonschema(value) for key, value in schema.items() if key != "nullable"}
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


def assert_valid(data: dict) -> None:
    jsonschema.validate(data, _openapi_to_jsonschema(report_schema()))


def with_traffic(make_experiment, key: str, **kwargs: Any) -> Experiment:
    experiment = make_experiment(key, start=True, **kwargs.pop("experiment", {}))
    traffic(experiment, **kwargs)  # sets started_at to the first day of traffic
    experiment.refresh_from_db()
    return experiment


def test_report_json_keys_and_nesting_are_pinned(make_experiment):
    running = with_traffic(
        make_experiment, "pinned", units=900, days=3, seed=11, truths={"llm-l060": Truth(0.13, 0.05)}
    )
    data = services.report_build(experiment=running, backfill="now").to_dict()
    assert data["decision"]["status"] == "keep_running"  # the shape with the days-left detail
    pinned = shape(data)
    assert pinned == REPORT
    assert keys_in_order(pinned) == keys_in_order(REPORT)  # key order too: the command prints it
    assert_valid(data)


def test_decision_and_snapshot_variants_of_the_shape(make_experiment):
    draft = services.report_build(experiment=make_experiment("draft-shape"), backfill="never").to_dict()
    assert list(draft["decision"]) == ["status", "winner", "metric", "days_left", "text"]
    assert_valid(draft)
    truths = {"llm-l060": Truth(0.2, 0.1), "llm-l040": Truth(0.2, 0.1)}
    running = with_traffic(make_experiment, "shipped", units=30_000, days=3, seed=5, truths=truths)
    shipped = services.report_build(experiment=running, backfill="now").to_dict()
    assert shipped["decision"]["status"] == "ship"
    assert list(shipped["decision"]) == ["status", "winner", "metric", "days_left", "text", "lift"]
    assert list(shipped["decision"]["lift"]) == ["relative", "sequential_ci", "sequential_p_value"]
    assert_valid(shipped)


def test_bandit_report_adds_the_allocation_and_matches_the_schema(make_experiment):
    settings = {"allocation_mode": "bandit", "primary_metric": "cvr"}
    bandit = with_traffic(make_experiment, "bandit-shape", experiment=settings, units=900, days=2)
    bandit.allocation_versions.update(effective_from=bandit.started_at)
    snapshot_cache_clear()
    allocation_reweight(experiment=bandit, now=timezone.now())
    data = services.report_build(experiment=bandit, backfill="never").to_dict()
    assert list(data)[-1] == "allocation"
    assert list(data["allocation"]) == [
        "mode",
        "method",
        "holdout_share",
        "floor",
        "method_note",
        "history",
        "units_moved_by_reweighting",
        "all_traffic",
    ]
    assert set(shape(data["allocation"], "allocation")["all_traffic"]["<key>"]) == {
        "units",
        "impressions",
        "clicks",
        "orders",
    }
    assert_valid(data)


def test_schema_lists_exactly_the_json_keys(make_experiment):
    running = with_traffic(make_experiment, "keys", units=300, days=2, seed=2)
    data = services.report_build(experiment=running, backfill="now").to_dict()
    schema = report_schema()
    assert set(schema["properties"]) == set(data) | {"allocation"}
    assert set(schema["required"]) == set(data)
    variant = schema["properties"]["variants"]["items"]
    assert list(variant["properties"]) == list(data["variants"][0])
    lift = variant["properties"]["metrics"]["additionalProperties"]["properties"]["lift"]
    assert list(lift["properties"]) == list(LIFT) and lift["nullable"] is True


@pytest.mark.usefixtures("catalog_products")
def test_catalog_report_adds_excluded_products_and_breakdowns(marketer, settings):
    from tests.analytics.test_breakdowns import _traffic
    from tests.ingest.test_products import _catalog_experiment

    settings.INGEST_ORDERS_NEED_CLICK = False
    experiment = _catalog_experiment(marketer, missing=("CAT-B",))
    _traffic(np.random.default_rng(1), units=60)
    data = services.report_build(experiment=experiment, backfill="never").to_dict()
    pinned = shape(data)
    assert {key: pinned[key] for key in CATALOG} == CATALOG
    assert [b["dimension"] for b in data["breakdowns"]] == ["product", "category"]
    assert_valid(data)
    top = services.report_build(experiment=experiment, backfill="never", breakdown_rows=1).to_dict()
    assert top["breakdowns"][0]["rest"].keys() == {"rows", "units", "excluded", "significant"}
    assert top["breakdowns"][0]["rest"]["rows"] == 2 and len(top["breakdowns"][0]["rows"]) == 1
    assert_valid(top)
