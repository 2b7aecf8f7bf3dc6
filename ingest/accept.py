"""Storefront events: validation against the assignment, and hand-off to the `ingest` queue.

The API answers 202 only once a batch is kept in the database's outbox (ingest.outbox) and,
broker permitting, queued; the worker (ingest.tasks) stores it idempotently. Validation reads
cached experiment snapshots, so it costs no database query per event (one insert per batch).
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings

from experiments.assignment import ExperimentSnapshot, ProductCopies, experiment_snapshot
from experiments.models import UNIT_MAX_LENGTH, Experiment
from ingest.models import EventType
from ingest.outbox import batch_accept
from ingest.writekeys import WriteKeyScope

# Wire names → stored codes, from the one enum.
EVENT_TYPES: dict[str, int] = {label: value for value, label in EventType.choices}
ORDER = EventType.ORDER.value
EVENT_ID_MAX_LENGTH = 64
PRODUCT_MAX_LENGTH = 64  # catalog.Product.sku
# Valid JSON, but not storable: PostgreSQL text cannot hold NUL, and a lone surrogate has no
# UTF-8 encoding. Accepted, either would fail the whole batch in the worker.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


@dataclass
class AcceptResult:
    accepted: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    batch_id: str | None = None


# One order's revenue. Finite is not enough: the report sums squares of unit revenue in
# PostgreSQL float8, and a storefront posting 1e200 made every later report a 500.
MAX_REVENUE = 1e9


def _finite(value: int | float) -> bool:
    """math.isfinite converts an int to float first: a 400-digit integer raised OverflowError."""
    try:
        return math.isfinite(float(value))
    except (OverflowError, ValueError):
        return False


def _parse_ts(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("must be an ISO-8601 string with a time zone")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value[:40]!r} is not ISO-8601") from None
    if parsed.tzinfo is None:
        raise ValueError("needs a time zone (e.g. 2026-11-25T10:00:00Z)")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00 is before year 1 in UTC
        raise ValueError(f"{value[:40]!r} is out of range") from None


def _string(event: dict, name: str, max_length: int, errors: dict[str, str]) -> str:
    value = event.get(name)
    if value is None:
        errors[name] = "required"
    elif not isinstance(value, str) or not value:
        errors[name] = "must be a non-empty string"
    elif len(value) > max_length:
        errors[name] = f"at most {max_length} characters"
    elif _UNSTORABLE.search(value):
        errors[name] = "must not contain NUL or unpaired surrogate characters"
    else:
        return value
    return ""


# Unit attributes (the report's segments): a small closed set, so a segment has a few rows, not one per
# free-text value. Country: ISO 3166-1 alpha-2 in upper case, as a storefront's geo-IP gives it.
ATTRIBUTE_CHOICES: dict[str, tuple[str, ...]] = {
    "device": ("desktop", "mobile", "tablet", "other"),
    "visitor": ("new", "returning"),
    "source": ("direct", "search", "social", "email", "paid", "referral", "other"),
}
# A number the storefront knows about the visitor from before the experiment: its orders in the shop so far.
# Reports use it as CUPED's covariate where the platform has none of the unit's own pre-exposure events.
PRIOR_ORDERS_MAX = 10_000
ATTRIBUTES = (*ATTRIBUTE_CHOICES, "country", "prior_orders")
_COUNTRY = re.compile(r"[A-Z]{2}")


def attributes_parse(event: dict) -> tuple[dict[str, str | int] | None, dict[str, str]]:
    """The event's `attributes` (None when it sends none) and the errors, keyed `attributes.<name>`."""
    value = event.get("attributes")
    if value is None:
        return None, {}
    if not isinstance(value, dict):
        return None, {"attributes": f"must be an object with any of {', '.join(ATTRIBUTES)}"}
    errors: dict[str, str] = {}
    parsed: dict[str, str | int] = {}
    for name, item in value.items():
        name = str(name)[:40]
        if name in ATTRIBUTE_CHOICES:
            if item not in ATTRIBUTE_CHOICES[name]:
                errors[f"attributes.{name}"] = f"must be one of {', '.join(ATTRIBUTE_CHOICES[name])}"
            else:
                parsed[name] = item
        elif name == "country":
            if not isinstance(item, str) or not _COUNTRY.fullmatch(item):
                errors["attributes.country"] = "must be an ISO 3166-1 alpha-2 code in upper case (e.g. DE)"
            else:
                parsed[name] = item
        elif name == "prior_orders":
            if isinstance(item, bool) or not isinstance(item, int) or not 0 <= item <= PRIOR_ORDERS_MAX:
                errors["attributes.prior_orders"] = f"must be a whole number from 0 to {PRIOR_ORDERS_MAX:,}"
            else:
                parsed[name] = item
        else:
            errors[f"attributes.{name}"] = f"unknown attribute; known: {', '.join(ATTRIBUTES)}"
    return (None if errors else parsed), errors


def event_validate(
    event: Any, *, now: datetime, snapshot_for=experiment_snapshot, scope: WriteKeyScope | None = None
) -> tuple[list | None, int | None, dict[str, str]]:
    """(row for the worker, experiment id, errors). A valid event has a row and no errors.

    `scope` is the posting write key's: an experiment outside its list is refused. An order's
    revenue above INGEST_REVENUE_CAP_FACTOR × the product's price is refused (a typo or a forgery
    either way; one such order outweighs every other order of the arm).

    `product` (a SKU) is required on impressions, clicks and add-to-carts of an experiment of several
    products and optional on orders; a one-product experiment's events may omit it (it defaults to
    the only SKU). An order's revenue is capped by its product's price, or by the set's highest.

    The row is `[experiment_id, variant_id, event_id, type, unit, ts_iso, revenue, product_id,
    excluded]` (ingest.rows.ROW_COLUMNS); `excluded` marks a product left out of the analysis.
    """
    if not isinstance(event, dict):
        return None, None, {"event": "must be a JSON object"}
    errors: dict[str, str] = {}
    event_id = _string(event, "event_id", EVENT_ID_MAX_LENGTH, errors)
    unit = _string(event, "unit", UNIT_MAX_LENGTH, errors)
    key = _string(event, "experiment", 64, errors)
    type_name = event.get("type")
    event_type = EVENT_TYPES.get(type_name) if isinstance(type_name, str) else None
    if event_type is None:
        errors["type"] = f"must be one of {', '.join(EVENT_TYPES)}"

    ts = None
    try:
        ts = _parse_ts(event.get("ts"))
    except ValueError as exc:
        errors["ts"] = "required" if event.get("ts") is None else str(exc)

    revenue = event.get("revenue")
    if revenue is not None:
        if event_type is not None and event_type != ORDER:
            errors["revenue"] = "only orders carry revenue"
        elif isinstance(revenue, bool) or not isinstance(revenue, (int, float)) or not _finite(revenue):
            errors["revenue"] = "must be a finite number"
        elif revenue < 0:
            errors["revenue"] = "must be ≥ 0"
        elif revenue > MAX_REVENUE:
            errors["revenue"] = f"must be at most {MAX_REVENUE:,.0f}"
        else:
            revenue = float(revenue)

    errors.update(attributes_parse(event)[1])

    claimed_variant = event.get("variant")
    if claimed_variant is not None and not isinstance(claimed_variant, str):
        errors["variant"] = "must be a string"

    snapshot: ExperimentSnapshot | None = None
    if key and scope is not None and not scope.allows_experiment(key):
        errors["experiment"] = f"this write key may not post events for experiment {key!r}"
    elif key:
        snapshot = snapshot_for(key)
        if snapshot is None:
            errors["experiment"] = f"unknown experiment {key!r}"
        elif snapshot.status != Experiment.Status.RUNNING:
            errors["experiment"] = f"experiment {key!r} is {snapshot.status}; only running experiments take events"
            snapshot = None
    sku = event.get("product")
    product: ProductCopies | None = None
    if sku is not None and (not isinstance(sku, str) or len(sku) > PRODUCT_MAX_LENGTH):
        errors["product"] = f"must be a SKU (a string of at most {PRODUCT_MAX_LENGTH} characters)"
    elif snapshot is not None:
        if sku in (None, "") and event_type == ORDER:
            # An order may be of the whole cart: it names a product only where the set has one.
            sku = snapshot.only_sku
        if sku not in (None, "") or event_type != ORDER:
            _, product, reason = snapshot.product_for(sku)
            if product is None:
                errors["product"] = reason
    # The revenue cap: the named product's price, else the dearest product of the set.
    price = product.price if product is not None else (snapshot.price if snapshot is not None else 0.0)
    if snapshot is not None and isinstance(revenue, float) and "revenue" not in errors and price:
        cap = price * settings.INGEST_REVENUE_CAP_FACTOR
        if settings.INGEST_REVENUE_CAP_FACTOR > 0 and revenue > cap:
            whose = "the product's price" if product is not None else "the highest price in the set"
            errors["revenue"] = f"more than {settings.INGEST_REVENUE_CAP_FACTOR:g} × {whose} ({price:.2f})"
    if ts is not None:
        if ts > now + timedelta(seconds=settings.INGEST_MAX_FUTURE_SECONDS):
            errors["ts"] = f"more than {settings.INGEST_MAX_FUTURE_SECONDS} s in the future"
        elif snapshot is not None and snapshot.started_at_ts is not None and ts.timestamp() < snapshot.started_at_ts:
            errors["ts"] = "before the experiment started"

    variant_id = None
    if snapshot is not None and unit:
        allocation = snapshot.allocation_at(ts.timestamp() if ts is not None else None)
        index = allocation.variation_index(unit)
        if index < 0:
            errors["unit"] = "not in the experiment (outside its coverage or namespace)"
        else:
            derived = allocation.variant_keys[index]
            if isinstance(claimed_variant, str) and claimed_variant != derived:
                errors["variant"] = f"{claimed_variant!r} disagrees with the assignment ({derived!r})"
            variant_id = snapshot.variant_ids[index]
    if errors:
        return None, snapshot.experiment_id if snapshot else None, errors
    assert snapshot is not None and ts is not None and event_type is not None
    row = [
        snapshot.experiment_id,
        variant_id,
        event_id,
        event_type,
        unit,
        ts.isoformat(),
        revenue if event_type == ORDER else None,
        product.product_id if product is not None else None,
        # Excluded (some arm shows the control's copy on it): kept out of the pooled totals.
        bool(product is not None and product.fallback),
    ]
    return row, snapshot.experiment_id, {}


def events_accept(
    *, events: list[Any], write_key_id: int, now: datetime | None = None, scope: WriteKeyScope | None = None
) -> AcceptResult:
    """Validate a batch and accept its valid events: kept in the outbox, then queued (ingest.outbox).

    A batch without one valid event queues nothing: its refusals are counted here, at once."""
    now = now or datetime.now(UTC)
    rows: list[list] = []
    # [experiment id, unit, attributes, ts] of the valid events that carry attributes (the worker keeps the
    # earliest event's)
    attributes: list[list] = []
    result = AcceptResult()
    rejected_by_experiment: dict[str, int] = {}
    for index, event in enumerate(events):
        row, experiment_id, errors = event_validate(event, now=now, scope=scope)
        if errors:
            result.rejected.append({"index": index, "errors": errors})
            key = str(experiment_id or "")
            rejected_by_experiment[key] = rejected_by_experiment.get(key, 0) + 1
        else:
            rows.append(row)
            parsed, _ = attributes_parse(event)
            if parsed:
                attributes.append([row[0], row[4], parsed, row[5]])
    if not rows:
        from ingest.store import rejected_count

        rejected_count(write_key_id=write_key_id, rejected=rejected_by_experiment)
        return result
    batch_id = str(uuid.uuid4())
    kwargs = {
        "batch_id": batch_id,
        "rows": rows,
        "write_key_id": write_key_id,
        "rejected": rejected_by_experiment,
        "received_at": now.isoformat(),
        **({"attributes": attributes} if attributes else {}),
    }
    batch_accept(kwargs=kwargs, now=now)
    result.accepted = len(rows)
    result.batch_id = batch_id
    return result
