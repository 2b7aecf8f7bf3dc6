"""One JSON error shape for the whole API: `{"error": message, "fields": {...}}`.

DRF's default puts field errors at the top level; storefront and script clients are simpler
when every non-2xx body has an `error` string, with per-field reasons under `fields`.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler

from abplatform.errors import FieldErrors, LifecycleError

logger = logging.getLogger(__name__)

# The OpenAPI schema of the error body, for `extend_schema(responses=...)` in every app's API.
ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "fields": {"type": "object"}},
    "required": ["error"],
}


class Conflict(APIException):
    """A lifecycle rule forbids the request (e.g. changing weights of a running experiment)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the experiment's state."
    default_code = "conflict"


def _flatten(detail: Any) -> Any:
    if isinstance(detail, list):
        flat = [_flatten(item) for item in detail]
        return flat[0] if len(flat) == 1 and isinstance(flat[0], str) else flat
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    return str(detail)


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    # Domain errors raised by services become their HTTP equivalents here, once, so views
    # stay free of try/except boilerplate.
    if isinstance(exc, OperationalError | InterfaceError):
        # The database is unreachable (restart, failover): nothing was done, so tell the client
        # to come back instead of a bare 500. Storefront clients and tracker.js honour Retry-After.
        response = Response(
            {"error": "database temporarily unavailable; nothing was stored, retry later"},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
        response["Retry-After"] = "5"
        return response
    if isinstance(exc, LifecycleError):
        exc = Conflict(str(exc))
    elif isinstance(exc, FieldErrors):
        exc = ValidationError(exc.errors)
    response = exception_handler(exc, context)
    if response is None:
        # Anything unexpected: a JSON 500 without the request in it, also with DEBUG on (Django's
        # debug page repeats the request, write keys and tokens included). The traceback is logged.
        view = context.get("view")
        logger.error("unhandled error in %s", type(view).__name__ if view else "an API view", exc_info=exc)
        return Response({"error": "internal error"}, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    if isinstance(exc, ValidationError) and isinstance(response.data, dict):
        fields = _flatten(response.data)
        non_field = fields.pop("non_field_errors", None)
        names = ", ".join(fields) if fields else ""
        message = non_field or (f"invalid field(s): {names}" if names else "invalid request")
        if isinstance(message, list):
            message = "; ".join(str(m) for m in message)
        response.data = {"error": message, "fields": fields}
    elif isinstance(exc, ParseError):
        reason = str(response.data.get("detail", "body cannot be parsed")) if isinstance(response.data, dict) else ""
        response.data = {"error": reason, "fields": getattr(exc, "fields", None) or {"body": reason}}
    elif isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"error": str(response.data["detail"])}
    elif isinstance(response.data, list):
        response.data = {"error": "; ".join(str(m) for m in _flatten(response.data))}
    return response


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404: a URL that matches no route (e.g. `/api/v1/experiments/not a slug`) answers in
    the API's JSON error shape under /api/, and with Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"error": "not found"}, status=status.HTTP_404_NOT_FOUND)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)
