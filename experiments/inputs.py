"""Parsing of an experiment's inputs, shared by the services, the API and the admin forms: each
bad value raises FieldErrors naming the field and the reason."""

from __future__ import annotations

from typing import Any

from abplatform.errors import FieldErrors
from experiments.models import REPORT_METRICS


def experiment_namespace_parse(value: Any) -> tuple[str, float | None, float | None]:
    """`[id, start, end]` (or null) → the three namespace fields; FieldErrors names what is wrong."""
    if value in (None, "", []):
        return ("", None, None)
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        raise FieldErrors({"namespace": "must be [id, start, end] or null"})
    ns_id, start, end = value
    if not isinstance(ns_id, str) or not ns_id.strip():
        raise FieldErrors({"namespace": "id must be a non-empty string"})
    try:
        start_f, end_f = float(start), float(end)
    except (TypeError, ValueError):
        raise FieldErrors({"namespace": "start and end must be numbers"}) from None
    if not (0.0 <= start_f < end_f <= 1.0):
        raise FieldErrors({"namespace": "needs 0 <= start < end <= 1"})
    return (ns_id.strip(), start_f, end_f)


def experiment_guardrails_parse(value: Any) -> list[str]:
    """Guardrail metrics: distinct names of report metrics; FieldErrors names what is wrong."""
    if value is None:
        return []
    if not isinstance(value, (list, tuple)) or not all(isinstance(m, str) for m in value):
        raise FieldErrors({"guardrail_metrics": "must be a list of metric names"})
    unknown = sorted(set(value) - set(REPORT_METRICS))
    if unknown:
        raise FieldErrors(
            {"guardrail_metrics": f"unknown metric(s) {', '.join(unknown)}; one of {', '.join(REPORT_METRICS)}"}
        )
    return list(dict.fromkeys(value))


PRODUCT_SET_KINDS = ("skus", "categories", "filter")
PRODUCT_FILTER_KEYS = ("categories", "brands", "price_min", "price_max", "attributes")
PRODUCT_SET_MAX_SKUS = 100_000


def _names(value: Any, field: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise FieldErrors({field: "must be a non-empty list of names"})
    if any("\x00" in v for v in value):
        raise FieldErrors({field: "names cannot hold NUL characters"})
    return list(dict.fromkeys(v.strip() for v in value))


def _price(value: Any, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise FieldErrors({field: "must be a number"})
    try:
        number = float(value)
    except ValueError:
        raise FieldErrors({field: f"{value!r} is not a number"}) from None
    if not 0 <= number < 1e8:
        raise FieldErrors({field: "must be between 0 and 99,999,999.99"})
    return number


def product_set_parse(value: Any) -> dict[str, Any]:
    """A product set spec, normalised: exactly one of {"skus": [...]}, {"categories": [...]} or
    {"filter": {"categories", "brands", "price_min", "price_max", "attributes"}}."""
    if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in PRODUCT_SET_KINDS:
        raise FieldErrors({"products": 'must be one of {"skus": [...]}, {"categories": [...]}, {"filter": {...}}'})
    kind, body = next(iter(value.items()))
    if kind == "skus":
        skus = _names(body, "products.skus")
        if len(skus) > PRODUCT_SET_MAX_SKUS:
            raise FieldErrors({"products.skus": f"at most {PRODUCT_SET_MAX_SKUS:,} SKUs"})
        return {"skus": skus}
    if kind == "categories":
        return {"categories": _names(body, "products.categories")}
    if not isinstance(body, dict) or not body:
        raise FieldErrors({"products.filter": f"must be an object with some of {', '.join(PRODUCT_FILTER_KEYS)}"})
    unknown = sorted(set(body) - set(PRODUCT_FILTER_KEYS))
    if unknown:
        raise FieldErrors(
            {"products.filter": f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(PRODUCT_FILTER_KEYS)}"}
        )
    spec: dict[str, Any] = {}
    for name in ("categories", "brands"):
        if name in body:
            spec[name] = _names(body[name], f"products.filter.{name}")
    for name in ("price_min", "price_max"):
        if body.get(name) is not None:
            spec[name] = _price(body[name], f"products.filter.{name}")
    if "price_min" in spec and "price_max" in spec and spec["price_min"] > spec["price_max"]:
        raise FieldErrors({"products.filter.price_min": "must not exceed price_max"})
    if "attributes" in body:
        attributes = body["attributes"]
        if not isinstance(attributes, dict) or not all(
            isinstance(k, str) and isinstance(v, (str, int, float, bool)) for k, v in attributes.items()
        ):
            raise FieldErrors({"products.filter.attributes": "must map attribute names to plain values"})
        spec["attributes"] = dict(attributes)
    return {"filter": spec}
