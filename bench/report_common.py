"""What the two cases of bench/report.py share: the simulated funnel, the COPY of the events into
experiments_event, clearing and vacuuming the tables, and the timing of a contender."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Iterable
from datetime import datetime

import numpy as np

CTR = (0.10, 0.108, 0.112)  # per impression, for the control and the two LLM arms
P_CART, P_ORDER = 0.5, 0.6  # given a click, given an add-to-cart
CHUNK_UNITS = 50_000


def median_seconds(fn, repeat: int) -> tuple[float, object]:
    result = fn()  # warm-up: caches, connections, imports
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def delete_rows(experiment_id: int, tables: Iterable[str]) -> float:
    """Delete the experiment's rows from `tables`, in this order; returns the seconds it took."""
    from django.db import connection

    began = time.perf_counter()
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"DELETE FROM {table} WHERE experiment_id = %s", [experiment_id])  # noqa: S608
    return time.perf_counter() - began


def vacuum_analyze(tables: Iterable[str]) -> float:
    """VACUUM ANALYZE `tables`, in this order; returns the seconds it took."""
    from django.db import connection

    began = time.perf_counter()
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")
    return time.perf_counter() - began


def copy_lines(
    experiment_id: int, start: datetime, seconds: np.ndarray, columns: Iterable[np.ndarray]
) -> tuple[bytes, int]:
    """COPY text of events: the experiment, `columns` (variant, event id, type, unit), the time
    `seconds` after `start`, the further `columns` (revenue, then the product if any), received at
    `start`; and how many events."""
    variants, event_ids, types, units, *rest = (np.asarray(c).tolist() for c in columns)
    stamps = np.datetime_as_string(
        np.datetime64(start.replace(tzinfo=None), "s") + seconds.astype("timedelta64[s]"), unit="s"
    )
    received = start.strftime("%Y-%m-%d %H:%M:%S+00")
    lines = [
        "\t".join((str(experiment_id), v, e, str(t), u, f"{s}+00", *more, received))
        for v, e, t, u, s, *more in zip(variants, event_ids, types, units, stamps.tolist(), *rest, strict=True)
    ]
    return ("\n".join(lines) + "\n").encode(), len(lines)


def events_copy(columns: str, units: int, chunk: Callable[[int, int], tuple[bytes, int]]) -> int:
    """COPY the events of `units` units into experiments_event, CHUNK_UNITS at a time: `chunk(first
    unit, units)` gives their COPY text and count (`columns`: the COPY's column list). Shows the
    progress on stderr; returns how many events."""
    from django.db import connection

    loaded = 0
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY experiments_event ({columns}) FROM STDIN") as copy:
        for first in range(0, units, CHUNK_UNITS):
            data, count = chunk(first, min(CHUNK_UNITS, units - first))
            copy.write(data)
            loaded += count
            print(f"\r  COPY events: {loaded:,}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return loaded
