"""JSON request bodies parsed within limits, before any other work is done with them.

Python's `json` parses whatever it is given: nesting until the interpreter's recursion limit
(RecursionError), integer literals until `int()`'s digit limit (ValueError), `1e400` as infinity
and `NaN`/`Infinity` as numbers; each of those made an anonymous 500. `json_loads_limited` turns
every such body into one `JSONBodyError` (HTTP 400) with the reason, and the DRF parser below is
the API's only parser, so every endpoint reads bodies this way (the events view calls the
function directly on its raw body).

Limits (settings): JSON_MAX_DEPTH (nesting of arrays and objects), JSON_MAX_STRING_LENGTH
(characters in one string or object key), JSON_MAX_NUMBER_LENGTH (characters in one number
literal). Integers must fit a signed 64-bit column and floats must be finite.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

INT64_MAX = 2**63 - 1
_INF = float("inf")


class JSONBodyError(ValueError):
    """The body is not JSON, or is JSON beyond the limits. `field` names the offending part."""

    def __init__(self, reason: str, field: str = "body"):
        self.reason = reason
        self.field = field
        super().__init__(reason)


def _limits() -> tuple[int, int, int]:
    return (
        getattr(settings, "JSON_MAX_DEPTH", 32),
        getattr(settings, "JSON_MAX_STRING_LENGTH", 100_000),
        getattr(settings, "JSON_MAX_NUMBER_LENGTH", 40),
    )


def _number_hooks(max_number: int):
    def parse_int(text: str) -> int:
        if len(text) > max_number:
            raise JSONBodyError(f"a number has more than {max_number} characters")
        value = int(text)
        if not -INT64_MAX - 1 <= value <= INT64_MAX:
            raise JSONBodyError("an integer is outside the signed 64-bit range")
        return value

    def parse_float(text: str) -> float:
        if len(text) > max_number:
            raise JSONBodyError(f"a number has more than {max_number} characters")
        value = float(text)
        if value in (_INF, -_INF):
            raise JSONBodyError("a number is too large to be represented (not finite)")
        return value

    return parse_int, parse_float


def _parse_constant(name: str) -> Any:
    raise JSONBodyError(f"{name} is not a JSON number")


_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_INNERMOST = re.compile(r"\[\]|\{\}")


def _shape_check(text: str, max_depth: int, max_string: int) -> None:
    """Refuse deep nesting and long strings before the C parser sees them (its own nesting limit
    is the interpreter's recursion limit, which raises RecursionError, far above ours).

    Strings are found by a regex: a literal no longer than `max_string` + 2 characters cannot
    decode to a longer string, so only longer literals are decoded to measure them. With the
    strings cut out, each pass removes the innermost empty pairs: what is left after `max_depth`
    passes is nested deeper (or unbalanced, which the parser refuses anyway)."""
    for match in _STRING.finditer(text):
        if match.end() - match.start() > max_string + 2:
            try:
                decoded = json.loads(match.group())
            except ValueError:
                continue  # not a valid string literal: the parser reports it
            if len(decoded) > max_string:
                raise JSONBodyError(f"a string is longer than {max_string} characters")
    if text.count("[") + text.count("{") <= max_depth:
        return
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    for _ in range(max_depth):
        brackets, removed = _INNERMOST.subn("", brackets)
        if not brackets or not removed:
            break
    if brackets and (_INNERMOST.search(brackets) or brackets.count("[") + brackets.count("{") > max_depth):
        raise JSONBodyError(f"nested deeper than {max_depth} levels")


def json_loads_limited(raw: bytes | str) -> Any:
    """Parse a request body within the limits; any failure is a JSONBodyError, never another error."""
    max_depth, max_string, max_number = _limits()
    parse_int, parse_float = _number_hooks(max_number)
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise JSONBodyError("body is not UTF-8") from None
    _shape_check(text, max_depth, max_string)
    try:
        data = json.loads(text, parse_int=parse_int, parse_float=parse_float, parse_constant=_parse_constant)
    except JSONBodyError:
        raise
    except json.JSONDecodeError as exc:
        raise JSONBodyError(f"body is not valid JSON: {exc}") from None
    except (ValueError, RecursionError, OverflowError, MemoryError) as exc:  # belt and braces
        raise JSONBodyError(f"body cannot be parsed: {type(exc).__name__}") from None
    return data


class JSONBodyParseError(ParseError):
    """A ParseError that carries the field, for the API's `{"error", "fields"}` shape."""

    def __init__(self, reason: str, field: str = "body"):
        super().__init__(reason)
        self.fields = {field: reason}


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "request body too large"
    default_code = "too_large"


class LimitedJSONParser(JSONParser):
    """DRF's JSON parser, through `json_loads_limited`: the default (and only) parser of the API.
    The body is read up to DATA_UPLOAD_MAX_MEMORY_SIZE (Django applies it to `request.body`,
    not to the stream DRF reads)."""

    def parse(self, stream, media_type=None, parser_context=None):
        if stream is None:
            return {}
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            raw = stream.read(limit + 1) if limit else stream.read()
        except Exception as exc:  # a broken upload
            raise JSONBodyParseError(f"body cannot be read: {type(exc).__name__}") from None
        if limit and len(raw) > limit:
            raise BodyTooLarge(f"body is over {limit} bytes")
        if not raw:
            return {}
        try:
            return json_loads_limited(raw)
        except JSONBodyError as exc:
            raise JSONBodyParseError(exc.reason, exc.field) from None
