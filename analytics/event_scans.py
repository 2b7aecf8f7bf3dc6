"""Scans of the raw events: the one-off backfill of daily snapshots, day and cohort aggregates of
the novelty views, and the benchmark's baseline. Reports read per-unit totals and snapshots; only
these functions read `experiments_event` itself (split from `analytics.selectors`)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import fields
from datetime import date, datetime

from django.db import connection, transaction
from django.db.models import Case, CharField, Q, Value, When

from analytics.selectors import COLUMNS, PRODUCTS, VariantAggregates, _aggregations
from experiments.models import Experiment, Variant
from ingest.models import EventType, UnitAttributes, UnitTotals

# --- Raw-event scans: the one-off backfill of snapshots, and the benchmark's baseline ---------------------------

_EVENT_TOTALS = {
    "impressions": f"SUM(CASE WHEN type = {EventType.IMPRESSION.value} THEN 1 ELSE 0 END)",
    "clicks": f"SUM(CASE WHEN type = {EventType.CLICK.value} THEN 1 ELSE 0 END)",
    "add_to_carts": f"SUM(CASE WHEN type = {EventType.ADD_TO_CART.value} THEN 1 ELSE 0 END)",
    "orders": f"SUM(CASE WHEN type = {EventType.ORDER.value} THEN 1 ELSE 0 END)",
    # Only orders carry revenue; the ingest path sums it the same way.
    "revenue": f"SUM(CASE WHEN type = {EventType.ORDER.value} THEN COALESCE(revenue, 0) ELSE 0 END)",
}
# Cast per-unit values to floats at once: PostgreSQL sums bigints as numeric, which is slower.
_FLOAT = "CAST({} AS DOUBLE PRECISION)"


def _more_sort_memory(cursor) -> None:
    """The per-unit (and per-day) groups of a big experiment outgrow PostgreSQL's default 4 MB of
    sort and hash memory and spill to disk; allow more for this one transaction (SET LOCAL)."""
    if connection.vendor == "postgresql":
        cursor.execute("SET LOCAL work_mem = '256MB'")


# Excluded products' events (some arm had no approved copy there) are not in the per-unit totals:
# scans of the raw events leave them out too (experiments.services.experiment_excluded_products).
_NOT_EXCLUDED = (
    " AND (product_id IS NULL OR product_id NOT IN (SELECT vc.product_id FROM experiments_variantcopy vc"
    " JOIN experiments_variant v ON v.id = vc.variant_id WHERE v.experiment_id = %s AND vc.status <> 'approved'))"
)


def _excluded_ids(experiment: Experiment) -> list[int]:
    """The parameters of `_NOT_EXCLUDED`."""
    return [experiment.pk]


def _day_expression() -> str:
    if connection.vendor == "postgresql":
        return "CAST((ts AT TIME ZONE 'UTC') AS date)"
    return "date(ts)"  # SQLite keeps UTC timestamps as ISO text


def _aggregates_row(row: Mapping[str, float | None]) -> VariantAggregates:
    return VariantAggregates(**{f.name: (row.get(f.name) or 0) for f in fields(VariantAggregates)})


def _unit_sums() -> list[str]:
    """The select list that sums per-unit rows (columns named as `COLUMNS`) into `VariantAggregates`."""
    sums = ["COUNT(*) AS units"]
    for column in COLUMNS:
        sums.append(f"SUM({column}) AS {column}")
        sums.append(f"SUM({column} * {column}) AS sq_{column}")
    for numerator, denominator in PRODUCTS:
        sums.append(f"SUM({numerator} * {denominator}) AS x_{numerator}_{denominator}")
    sums.append("SUM(CASE WHEN impressions = 0 THEN 1 ELSE 0 END) AS units_without_impression")
    return sums


def variant_aggregates_from_events(*, experiment: Experiment) -> dict[int, VariantAggregates]:
    """The same numbers as :func:`variant_aggregates`, computed from the raw events.

    Groups the events by unit and then by variant: a full scan of the experiment's events, kept
    for checks and as the benchmark's baseline (reports read the per-unit totals instead).
    """
    per_unit = ", ".join(f"{_FLOAT.format(sql)} AS {name}" for name, sql in _EVENT_TOTALS.items())
    sums = _unit_sums()
    sql = (
        f"WITH per_unit AS (SELECT variant_id, unit, {per_unit} FROM experiments_event "  # noqa: S608 - fixed SQL
        f"WHERE experiment_id = %s{_NOT_EXCLUDED} GROUP BY variant_id, unit) "
        f"SELECT variant_id, {', '.join(sums)} FROM per_unit GROUP BY variant_id"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        _more_sort_memory(cursor)
        cursor.execute(sql, [experiment.pk, *_excluded_ids(experiment)])
        names = [column[0] for column in cursor.description]
        result = {row[0]: _aggregates_row(dict(zip(names, row, strict=True))) for row in cursor.fetchall()}
    for variant_id in Variant.objects.filter(experiment=experiment).values_list("id", flat=True):
        result.setdefault(variant_id, VariantAggregates.empty())
    return result


def _daily_sql() -> str:
    """Per (variant, day): how much each sufficient statistic grew that day.

    A unit's contribution to a sum of squares on day d is cum(d)^2 - cum(d-1)^2, so only the units
    active on day d appear in that day's row; the caller adds the deltas up day by day. Window
    functions give each unit's cumulative totals (both PostgreSQL and SQLite >= 3.25 have them).
    """
    day = _day_expression()
    daily = ", ".join(f"{_FLOAT.format(sql)} AS d_{name}" for name, sql in _EVENT_TOTALS.items())
    running = ", ".join(f"SUM(d_{name}) OVER w AS c_{name}" for name in COLUMNS)
    deltas = ["SUM(CASE WHEN nth = 1 THEN 1 ELSE 0 END) AS units"]
    for column in COLUMNS:
        deltas.append(f"SUM(d_{column}) AS {column}")
        deltas.append(
            f"SUM(c_{column} * c_{column} - (c_{column} - d_{column}) * (c_{column} - d_{column})) AS sq_{column}"
        )
    for n, d in PRODUCTS:
        deltas.append(f"SUM(c_{n} * c_{d} - (c_{n} - d_{n}) * (c_{d} - d_{d})) AS x_{n}_{d}")
    # A unit leaves "without impression" on the day of its first impression.
    deltas.append(
        "SUM(CASE WHEN nth = 1 AND c_impressions = 0 THEN 1 "
        "WHEN nth > 1 AND c_impressions > 0 AND c_impressions = d_impressions THEN -1 ELSE 0 END) "
        "AS units_without_impression"
    )
    return (
        f"WITH daily AS (SELECT variant_id, unit, {day} AS day, {daily} FROM experiments_event "  # noqa: S608
        f"WHERE experiment_id = %s{_NOT_EXCLUDED} GROUP BY variant_id, unit, {day}), "
        f"cumulative AS (SELECT *, {running}, ROW_NUMBER() OVER w AS nth FROM daily "
        "WINDOW w AS (PARTITION BY variant_id, unit ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)) "
        f"SELECT day, variant_id, {', '.join(deltas)} FROM cumulative GROUP BY day, variant_id ORDER BY day, variant_id"
    )


def _day_only_sql(*, bounded: bool) -> str:
    """Per (day, variant): the sufficient statistics of that day's activity alone (the units with events
    that day, their per-unit totals of that day), for the daily lift. `bounded`: a ts range too."""
    day = _day_expression()
    per_unit = ", ".join(f"{_FLOAT.format(sql)} AS {name}" for name, sql in _EVENT_TOTALS.items())
    window = " AND ts >= %s AND ts < %s" if bounded else ""
    return (
        f"WITH per_unit AS (SELECT variant_id, unit, {day} AS day, {per_unit} FROM experiments_event "  # noqa: S608
        f"WHERE experiment_id = %s{window}{_NOT_EXCLUDED} GROUP BY variant_id, unit, {day}) "
        f"SELECT day, variant_id, {', '.join(_unit_sums())} FROM per_unit GROUP BY day, variant_id "
        "ORDER BY day, variant_id"
    )


def day_aggregates_from_events(
    *, experiment: Experiment, start: datetime | None = None, end: datetime | None = None
) -> dict[date, dict[int, VariantAggregates]]:
    """Per UTC day with events (in [start, end) when given): each variant's statistics of that day alone.

    One scan of the experiment's events (of the range: the (experiment, ts) index); the snapshots keep
    the result (`ReportSnapshot.day_variants`) so that reports never scan events for the daily lift.
    """
    bounded = start is not None and end is not None
    params: list = [experiment.pk, *((start, end) if bounded else ()), *_excluded_ids(experiment)]
    with transaction.atomic(), connection.cursor() as cursor:
        _more_sort_memory(cursor)
        cursor.execute(_day_only_sql(bounded=bounded), params)
        names = [column[0] for column in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    result: dict[date, dict[int, VariantAggregates]] = {}
    for row in rows:
        result.setdefault(_as_date(row["day"]), {})[row["variant_id"]] = _aggregates_row(row)
    return result


def cohort_aggregates(*, experiment: Experiment, boundary: datetime) -> dict[str, dict[int, VariantAggregates]]:
    """Per exposure cohort ("first": first exposed before `boundary`, "later": from it on) and variant:
    the statistics of the cohort's units over their whole history, in one query over the unit totals.
    A unit without an impression counts from its first event."""
    first = Q(first_exposure__lt=boundary) | Q(first_exposure=None, first_seen__lt=boundary)
    cohort = Case(When(first, then=Value("first")), default=Value("later"), output_field=CharField())
    rows = (
        UnitTotals.objects.filter(experiment=experiment)
        .annotate(cohort=cohort)
        .values("cohort", "variant_id")
        .order_by()
        .annotate(**_aggregations())
    )
    result: dict[str, dict[int, VariantAggregates]] = {"first": {}, "later": {}}
    for row in rows:
        cohort, variant_id = row.pop("cohort"), row.pop("variant_id")
        result[cohort][variant_id] = VariantAggregates(
            **{name.removeprefix("agg_"): value for name, value in row.items()}
        )
    return result


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def daily_aggregates_from_events(*, experiment: Experiment) -> list[tuple[date, dict[int, VariantAggregates]]]:
    """Cumulative per-variant statistics at the end of each UTC day that has events, oldest first.

    One scan of the experiment's raw events (the backfill of snapshots for traffic that predates
    them); each day's statistics equal what `variant_aggregates` would have returned that midnight.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        _more_sort_memory(cursor)
        cursor.execute(_daily_sql(), [experiment.pk, *_excluded_ids(experiment)])
        names = [column[0] for column in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    names = [f.name for f in fields(VariantAggregates)]
    running: dict[int, dict[str, float]] = {
        variant_id: dict.fromkeys(names, 0)
        for variant_id in Variant.objects.filter(experiment=experiment).values_list("id", flat=True)
    }
    days: list[tuple[date, dict[int, VariantAggregates]]] = []
    for day, day_rows in itertools.groupby(rows, key=lambda row: _as_date(row["day"])):
        for row in day_rows:
            totals = running.setdefault(row["variant_id"], dict.fromkeys(names, 0))
            for name in names:
                totals[name] += row[name] or 0
        days.append((day, {variant_id: VariantAggregates(**values) for variant_id, values in running.items()}))
    return days


# --- Pre-exposure behaviour: CUPED's covariate ---------------------------------------------------------------------


def _capper(caps: Mapping[str, float] | None):
    """SQL of a per-unit total capped at the report's cap of its column (the caps are our own floats)."""
    least = "LEAST" if connection.vendor == "postgresql" else "MIN"  # SQLite's two-argument min() is scalar
    caps = dict(caps or {})

    def capped(value: str, column: str) -> str:
        return f"{least}({value}, {float(caps[column])!r})" if column in caps else value

    return capped


def _lookback_start(days: int) -> tuple[str, int | str]:
    """SQL for `u.first_exposure` minus the lookback, and its parameter (one per vendor)."""
    if connection.vendor == "postgresql":
        return "u.first_exposure - make_interval(days => %s)", int(days)
    # SQLite keeps UTC timestamps as 'YYYY-MM-DD HH:MM:SS[.ffffff]' text; datetime() answers in that form.
    return "datetime(u.first_exposure, %s)", f"-{days} days"


def pre_exposure_columns() -> list[str]:
    """The sums `pre_exposure_sums` returns per variant: `units_with_pre`, then for every column c
    (`pre_c`: the unit's total before its first exposure) `pre_c`, `sq_pre_c`, every product `x_c_pre_d` of
    a total in this experiment with one before, and the pre-exposure numerator × denominator of the ratio
    metrics. The experiment's own sums are the report's `VariantAggregates`."""
    names = ["units_with_pre"]
    for column in COLUMNS:
        names += [f"pre_{column}", f"sq_pre_{column}"]
    names += [f"x_{post}_pre_{pre}" for post in COLUMNS for pre in COLUMNS]
    names += [f"x_pre_{numerator}_pre_{denominator}" for numerator, denominator in PRODUCTS]
    return names


def pre_exposure_sums(
    *, experiment: Experiment, lookback_days: int, caps: Mapping[str, float] | None = None
) -> dict[int, dict[str, float]]:
    """Per variant id, the sums of `pre_exposure_columns()` over its units: each unit's totals over the
    `lookback_days` before its first exposure here, from its events in every *other* experiment, and
    their products with its totals here. `caps` (column -> cap): per-unit totals, in and before the
    experiment, are capped at them first (as the report caps them).

    Events before the first exposure cannot depend on the arm the unit was then assigned, which is
    what makes them a valid covariate; this experiment's own events are left out for the same reason.
    A unit without such events (or without an impression here) adds zero to every one of these sums,
    so only the units with some are summed: one query, through the (unit, ts) index of the events,
    whose cost grows with the units seen before, not with the experiment.
    """
    start_sql, start_param = _lookback_start(lookback_days)
    per_unit = ", ".join(f"{_FLOAT.format(sql)} AS {name}" for name, sql in _EVENT_TOTALS.items())
    capped = _capper(caps)

    def post(column: str) -> str:
        return capped(f"CAST(t.{column} AS DOUBLE PRECISION)", column)

    def pre(column: str) -> str:
        return capped(f"p.{column}", column)

    terms: list[tuple[str, str]] = [("units_with_pre", "1")]
    for column in COLUMNS:
        terms += [(f"pre_{column}", pre(column)), (f"sq_pre_{column}", f"{pre(column)} * {pre(column)}")]
    terms += [(f"x_{a}_pre_{b}", f"{post(a)} * {pre(b)}") for a in COLUMNS for b in COLUMNS]
    terms += [(f"x_pre_{a}_pre_{b}", f"{pre(a)} * {pre(b)}") for a, b in PRODUCTS]
    select = ", ".join(f"SUM({expression}) AS {name}" for name, expression in terms)
    sql = (
        f"SELECT t.variant_id, {select} FROM experiments_unittotals t JOIN ("  # noqa: S608 - fixed SQL
        f"SELECT unit, variant_id, {per_unit} FROM ("
        "SELECT u.unit AS unit, u.variant_id AS variant_id, e.type AS type, e.revenue AS revenue "
        "FROM experiments_unittotals u JOIN experiments_event e ON e.unit = u.unit "
        "WHERE u.experiment_id = %s AND u.first_exposure IS NOT NULL AND e.experiment_id <> %s "
        f"AND e.ts < u.first_exposure AND e.ts >= {start_sql}"
        ") w GROUP BY unit, variant_id"
        ") p ON p.unit = t.unit AND p.variant_id = t.variant_id WHERE t.experiment_id = %s GROUP BY t.variant_id"
    )
    params = [experiment.pk, experiment.pk, start_param, experiment.pk]
    return _sums_by_variant(experiment, sql, params, pre_exposure_columns())


def _sums_by_variant(experiment: Experiment, sql: str, params: list, names: list[str]) -> dict[int, dict[str, float]]:
    """Per variant id of the experiment, the named sums of a `variant_id, <sums>` query (zeros where a variant
    has no row)."""
    with transaction.atomic(), connection.cursor() as cursor:
        _more_sort_memory(cursor)
        cursor.execute(sql, params)
        columns = [column[0] for column in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    empty = dict.fromkeys(names, 0.0)
    result = {row.pop("variant_id"): {**empty, **{k: float(v or 0) for k, v in row.items()}} for row in rows}
    for variant_id in Variant.objects.filter(experiment=experiment).values_list("id", flat=True):
        result.setdefault(variant_id, dict(empty))
    return result


def prior_orders_sums(
    *, experiment: Experiment, caps: Mapping[str, float] | None = None
) -> dict[int, dict[str, float]]:
    """Per variant id, over its units that sent `prior_orders` with an event at or before their first exposure
    (`ingest.UnitAttributes.sent_at`; x = their value):
    `units_with_pre`, `pre_x` (sum x), `sq_pre_x` (sum x²) and `x_<c>_pre_x` (sum of the unit's total of
    column c here × x, capped as the report caps). A unit that sent none adds zero to each (x = 0)."""
    capped = _capper(caps)
    x = "CAST(a.prior_orders AS DOUBLE PRECISION)"
    terms = [("units_with_pre", "1"), ("pre_x", x), ("sq_pre_x", f"{x} * {x}")]
    terms += [(f"x_{c}_pre_x", f"{capped(f'CAST(t.{c} AS DOUBLE PRECISION)', c)} * {x}") for c in COLUMNS]
    select = ", ".join(f"SUM({expression}) AS {name}" for name, expression in terms)
    sql = (
        f"SELECT t.variant_id, {select} FROM experiments_unittotals t "  # noqa: S608 - fixed SQL
        f"JOIN {UnitAttributes._meta.db_table} a ON a.experiment_id = t.experiment_id AND a.unit = t.unit "
        # Only a count sent by the first exposure is a pre-exposure quantity; a later one may hold the
        # experiment's own orders, which depend on the arm.
        "WHERE t.experiment_id = %s AND a.prior_orders IS NOT NULL AND a.sent_at IS NOT NULL "
        "AND t.first_exposure IS NOT NULL AND a.sent_at <= t.first_exposure GROUP BY t.variant_id"
    )
    return _sums_by_variant(experiment, sql, [experiment.pk], [name for name, _ in terms])
