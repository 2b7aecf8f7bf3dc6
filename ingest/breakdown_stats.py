"""The sufficient statistics kept per (variant, product or category), and how one unit row moving
from old to new counts moves them: the definition both storage back ends follow (PostgreSQL in
one statement, ingest.store_postgres; SQLite a row at a time, ingest.store_sqlite)."""

from __future__ import annotations

TYPE_FIELDS = ("impressions", "clicks", "add_to_carts", "orders")
COLUMNS = (*TYPE_FIELDS, "revenue")
# (numerator, denominator) of the ratio metrics: the cross sums BreakdownStats keeps.
CROSS = (("clicks", "impressions"), ("orders", "impressions"), ("orders", "clicks"), ("add_to_carts", "clicks"))
STAT_FIELDS = (
    "units",
    *COLUMNS,
    *(f"sq_{c}" for c in COLUMNS),
    *(f"x_{a}_{b}" for a, b in CROSS),
    "units_without_impression",
)


def stats_moved(old: tuple[float, ...], new: tuple[float, ...]) -> dict[str, float]:
    """How one unit row moving from `old` to `new` (impressions, clicks, add-to-carts, orders, revenue)
    moves the sufficient statistics of its (variant, product or category): the SQL's `moved` step."""
    o, n = dict(zip(COLUMNS, old, strict=True)), dict(zip(COLUMNS, new, strict=True))
    existed = any(o[c] for c in TYPE_FIELDS)
    moved = {"units": 0 if existed else 1}
    for c in COLUMNS:
        moved[c] = n[c] - o[c]
        moved[f"sq_{c}"] = n[c] * n[c] - o[c] * o[c]
    for a, b in CROSS:
        moved[f"x_{a}_{b}"] = n[a] * n[b] - o[a] * o[b]
    moved["units_without_impression"] = (n["impressions"] == 0) - (existed and o["impressions"] == 0)
    return moved
