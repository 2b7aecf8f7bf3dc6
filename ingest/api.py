"""The storefront events endpoint: authenticated by a write key, validated, queued for the ingest workers."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from abplatform.api_errors import ERROR_SCHEMA
from abplatform.clientip import client_ip
from abplatform.jsonbody import JSONBodyError, json_loads_limited
from abplatform.roles import StorefrontView
from experiments.models import UNIT_MAX_LENGTH
from ingest.accept import (
    ATTRIBUTE_CHOICES,
    EVENT_TYPES,
    MAX_REVENUE,
    PRIOR_ORDERS_MAX,
    events_accept,
)
from ingest.ratelimit import rate_limit_check, rate_limit_check_ip
from ingest.writekeys import write_key_scope

EVENT_SCHEMA = {
    "type": "object",
    "properties": {
        "event_id": {"type": "string", "maxLength": 64},
        "type": {"type": "string", "enum": list(EVENT_TYPES)},
        "experiment": {"type": "string"},
        "unit": {"type": "string", "maxLength": UNIT_MAX_LENGTH},
        "ts": {"type": "string", "format": "date-time"},
        "revenue": {"type": "number", "minimum": 0, "maximum": MAX_REVENUE, "nullable": True},
        "variant": {"type": "string", "nullable": True},
        "attributes": {
            "type": "object",
            "description": "the unit's segments and prior orders, kept from its first event that sends them",
            "properties": {
                **{name: {"type": "string", "enum": list(values)} for name, values in ATTRIBUTE_CHOICES.items()},
                "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
                "prior_orders": {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": PRIOR_ORDERS_MAX,
                    "description": "the visitor's orders in the shop before: CUPED's covariate where none other",
                },
            },
            "additionalProperties": False,
        },
    },
    "required": ["event_id", "type", "experiment", "unit", "ts"],
}
ACCEPTED_SCHEMA = {
    "type": "object",
    "properties": {
        "accepted": {"type": "integer"},
        "rejected": {
            "type": "array",
            "items": {"type": "object", "properties": {"index": {"type": "integer"}, "errors": {"type": "object"}}},
        },
    },
    "required": ["accepted", "rejected"],
}


def _error(status_code: int, message: str, **extra) -> Response:
    return Response({"error": message, **extra}, status=status_code)


def _unauthorized() -> Response:
    return _error(401, "missing, unknown or revoked write key", fields={"authorization": "invalid"})


def _too_many(message: str, retry_after: int) -> Response:
    response = _error(429, message)
    response["Retry-After"] = str(retry_after)
    return response


class EventsView(StorefrontView):
    """Storefront events. Authenticated by a write key, not a user: `Authorization: Bearer KEY`,
    or `write_key` in the body for `navigator.sendBeacon`, which cannot set headers.

    Order of checks: client IP rate limit, size, the header's key (before parsing), the body
    parsed within limits, the key's origins, the key's rate limit, then each event."""

    parser_classes = ()  # the body is read raw: size is checked before parsing

    @extend_schema(
        operation_id="events_ingest",
        request={
            "application/json": {
                "type": "object",
                "properties": {
                    "events": {"type": "array", "items": EVENT_SCHEMA, "maxItems": 500},
                    "write_key": {"type": "string"},
                },
                "required": ["events"],
            }
        },
        responses={
            202: ACCEPTED_SCHEMA,
            400: ERROR_SCHEMA,
            401: ERROR_SCHEMA,
            403: ERROR_SCHEMA,
            413: ERROR_SCHEMA,
            429: ERROR_SCHEMA,
            503: ERROR_SCHEMA,
        },
    )
    def post(self, request: Request) -> Response:
        ip_wait = rate_limit_check_ip(client_ip(request) or "unknown")
        if ip_wait is not None:
            return _too_many("rate limit of this client address exceeded", ip_wait)
        max_bytes = settings.INGEST_MAX_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > max_bytes:
            return _error(413, f"body is over {max_bytes} bytes")
        body = request.body
        if len(body) > max_bytes:
            return _error(413, f"body is over {max_bytes} bytes")

        # A key in the header is checked before the body is parsed: no parsing for strangers.
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scope = None
        if header[:7].lower() == "bearer ":
            scope = write_key_scope(header[7:].strip())
            if scope is None:
                return _unauthorized()
        try:
            payload = json_loads_limited(body)
        except JSONBodyError as exc:
            return _error(400, exc.reason, fields={exc.field: exc.reason})
        if not isinstance(payload, dict):
            return _error(400, 'body must be a JSON object {"events": [...]}', fields={"events": "required"})
        if scope is None:
            clear = payload.get("write_key")
            scope = write_key_scope(clear) if isinstance(clear, str) and clear else None
            if scope is None:
                return _unauthorized()
        origin = request.META.get("HTTP_ORIGIN")
        if not scope.allows_origin(origin):
            return _error(
                403, "this write key may not be used from this origin", fields={"origin": "not allowed for this key"}
            )
        limit = rate_limit_check(scope.id, scope.rate_limit_per_minute)
        if limit is not None:
            return _too_many("rate limit of this write key exceeded", limit)

        events = payload.get("events")
        if not isinstance(events, list) or not events:
            return _error(400, "events must be a non-empty list", fields={"events": "must be a non-empty list"})
        if len(events) > settings.INGEST_MAX_EVENTS:
            return _error(413, f"at most {settings.INGEST_MAX_EVENTS} events per request (got {len(events)})")
        result = events_accept(events=events, write_key_id=scope.id, scope=scope)
        if scope.simulated and result.accepted:
            _experiments_mark_simulated(events, result.rejected)
        return Response({"accepted": result.accepted, "rejected": result.rejected}, status=status.HTTP_202_ACCEPTED)


def _experiments_mark_simulated(events: list, rejected: list[dict]) -> None:
    """A simulated key's accepted events make their experiments' reports say "simulated traffic".
    One UPDATE that writes nothing once set; keys that are not simulated never get here."""
    from experiments.services import experiments_mark_simulated

    refused = {item["index"] for item in rejected}
    keys = {
        event["experiment"]
        for index, event in enumerate(events)
        if index not in refused and isinstance(event, dict) and isinstance(event.get("experiment"), str)
    }
    experiments_mark_simulated(keys=keys)
