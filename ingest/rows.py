"""The event rows as the API queues them for storage: their columns, and the fields of a row as
the event tables (stored and quarantined) take them."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

# Column order of a row as the API queues it. Rows queued before catalog experiments have the
# first seven only (a redelivery after a deploy): `rows_normalize` pads them.
ROW_COLUMNS = ("experiment_id", "variant_id", "event_id", "type", "unit", "ts", "revenue", "product_id", "excluded")
_V1_COLUMNS = 7


def rows_normalize(rows: list[list]) -> list[list]:
    """Every row with all of ROW_COLUMNS: a v1 row has no product and is not excluded."""
    return [list(row) + [None, False][len(row) - _V1_COLUMNS :] if len(row) < len(ROW_COLUMNS) else row for row in rows]


def rows_by_experiment(rows: list[list]) -> dict[int, list[list]]:
    """The rows grouped by experiment id, in their order."""
    by_experiment: dict[int, list[list]] = defaultdict(list)
    for row in rows:
        by_experiment[row[0]].append(row)
    return by_experiment


def row_event_fields(row: list) -> dict:
    """The model fields of one normalized row (all but `excluded`, which is the analysis's, not the event's)."""
    return {
        "experiment_id": row[0],
        "variant_id": row[1],
        "event_id": row[2],
        "type": row[3],
        "unit": row[4],
        "ts": datetime.fromisoformat(row[5]),
        "revenue": row[6],
        "product_id": row[7],
    }
