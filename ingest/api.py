"""The storefront events endpoint: authenticated by a write key, validated, queued for the ingest workers."""

from __future__ import annotations

import json

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from abplatform.api_errors import ERROR_SCHEMA
from experiments.models import UNIT_MAX_LENGTH
from ingest.accept import EVENT_TYPES, MAX_REVENUE, BrokerUnavailable, events_accept
from ingest.ratelimit import rate_limit_check
from ingest.writekeys import write_key_authenticate

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


class EventsView(APIView):
    """Storefront events. Authenticated by a write key, not a user: `Authorization: Bearer KEY`,
    or `write_key` in the body for `navigator.sendBeacon`, which cannot set headers."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
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
            413: ERROR_SCHEMA,
            429: ERROR_SCHEMA,
            503: ERROR_SCHEMA,
        },
    )
    def post(self, request: Request) -> Response:
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
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return _error(400, f"body is not valid JSON: {exc}")
        if not isinstance(payload, dict):
            return _error(400, 'body must be a JSON object {"events": [...]}', fields={"events": "required"})

        header = request.META.get("HTTP_AUTHORIZATION", "")
        clear = header[7:].strip() if header[:7].lower() == "bearer " else payload.get("write_key")
        write_key_id = write_key_authenticate(clear) if isinstance(clear, str) and clear else None
        if write_key_id is None:
            return _error(401, "missing, unknown or revoked write key", fields={"authorization": "invalid"})
        limit = rate_limit_check(write_key_id)
        if limit is not None:
            response = _error(429, "rate limit of this write key exceeded")
            response["Retry-After"] = str(limit)
            return response

        events = payload.get("events")
        if not isinstance(events, list) or not events:
            return _error(400, "events must be a non-empty list", fields={"events": "must be a non-empty list"})
        if len(events) > settings.INGEST_MAX_EVENTS:
            return _error(413, f"at most {settings.INGEST_MAX_EVENTS} events per request (got {len(events)})")
        try:
            result = events_accept(events=events, write_key_id=write_key_id)
        except BrokerUnavailable:
            response = _error(503, "event queue unavailable; nothing was accepted, retry later")
            response["Retry-After"] = "5"
            return response
        return Response({"accepted": result.accepted, "rejected": result.rejected}, status=status.HTTP_202_ACCEPTED)
