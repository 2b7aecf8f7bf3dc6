"""JSON-friendly result base shared by every result dataclass in :mod:`analytics.stats`.

The report layer serialises results straight into API responses and templates, so the
one rule here is: ``to_dict()`` yields plain ``float``/``int``/``bool``/``str``/``None``,
lists and dicts, and never NaN or infinity (JSON has no spelling for them and a
``NaN`` in a lift column reads like a number to a hurried analyst).
"""

from __future__ import annotations

import math
from dataclasses import fields, is_dataclass
from typing import Any

import numpy as np


def finite_or_none(value: Any) -> float | None:
    """``float(value)`` if it is a finite number, else ``None``."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _jsonable(value: Any) -> Any:
    if isinstance(value, ResultMixin):
        return value.to_dict()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in fields(value)}
    # bool before int/float: bool is an int subclass and numpy has its own bool type.
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return finite_or_none(value)
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


class ResultMixin:
    """Adds ``to_dict()`` to a (frozen) result dataclass."""

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]
