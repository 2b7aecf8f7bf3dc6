"""What every report type shares: frozen keyword-only dataclasses written as JSON by `to_dict()`,
and the interval and scale types of lifts."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, TypeAlias

from analytics.report.jsonform import to_json

Interval: TypeAlias = tuple[float | None, float | None]
Scale: TypeAlias = Literal["relative", "absolute"]

# Keyword-only: fields keep the JSON's key order whatever their defaults.
frozen = dataclasses.dataclass(frozen=True, kw_only=True)


class JsonType:
    def to_dict(self) -> dict[str, Any]:
        """The JSON object of the API and `manage.py lift_report --format json`."""
        return to_json(self)
