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
