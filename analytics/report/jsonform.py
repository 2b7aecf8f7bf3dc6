"""The JSON form of the report's frozen dataclasses, and their OpenAPI schema, from one description.

The dataclasses' type hints say what each field holds; `spec(...)` adds what the JSON needs on
top (another name, an omitted key, a description, an enum). `to_json` walks an instance and
`openapi_schema` walks the type, both from the same fields, so the documented schema cannot
drift from what the API sends.

A hand-rolled walker rather than a serializer library: the report is output-only, its JSON
has a few shapes a serializer would need custom fields for (a field named `lambda`, keys that
appear only in some decisions, an interval as a two-item array), and this stays ~150 lines.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

# Metadata keys of `spec`.
_NAME, _OMIT_NONE, _ONLY_WITH, _NONE_AS_EMPTY, _DESCRIPTION, _ENUM = (
    "json_name",
    "omit_if_none",
    "only_with",
    "none_as_empty",
    "description",
    "enum",
)


def spec(
    *,
    name: str | None = None,
    omit_if_none: bool = False,
    only_with: str | None = None,
    none_as_empty: bool = False,
    description: str | None = None,
    enum: Sequence[Any] | None = None,
    **field_kwargs: Any,
) -> Any:
    """A dataclass field with JSON details.

    name: the JSON key, where the attribute cannot carry it (`lambda` is a Python keyword).
    omit_if_none: leave the key out when the value is None (rather than writing null).
    only_with: leave the key out when that other field is None.
    none_as_empty: write None as `{}` (an object whose keys are then all optional).
    enum: the allowed values, where they live outside the type (e.g. a model's choices).
    """
    metadata = {
        _NAME: name,
        _OMIT_NONE: omit_if_none,
        _ONLY_WITH: only_with,
        _NONE_AS_EMPTY: none_as_empty,
        _DESCRIPTION: description,
        _ENUM: list(enum) if enum is not None else None,
    }
    return dataclasses.field(metadata=metadata, **field_kwargs)


def _json_name(field: dataclasses.Field) -> str:
    return field.metadata.get(_NAME) or field.name


def _optional(field: dataclasses.Field) -> bool:
    """Whether the key may be missing from the JSON object."""
    return bool(field.metadata.get(_OMIT_NONE) or field.metadata.get(_ONLY_WITH))


def to_json(value: Any) -> Any:
    """Plain JSON-ready data (dicts, lists, str, numbers, bools, None) from a report value."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for field in dataclasses.fields(value):
            item = getattr(value, field.name)
            if item is None and field.metadata.get(_OMIT_NONE):
                continue
            only_with = field.metadata.get(_ONLY_WITH)
            if only_with and getattr(value, only_with) is None:
                continue
            if item is None and field.metadata.get(_NONE_AS_EMPTY):
                out[_json_name(field)] = {}
                continue
            out[_json_name(field)] = to_json(item)
        return out
    if isinstance(value, Mapping):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        return str(value)  # a model's TextChoices member becomes its plain value
    return value


# --- OpenAPI (3.0) ----------------------------------------------------------------------------------------------

_SCALARS: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    datetime: {"type": "string", "format": "date-time"},
    date: {"type": "string", "format": "date"},
}


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _split_optional(tp: Any) -> tuple[Any, bool]:
    """(`X`, True) for `X | None`; (tp, False) otherwise."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(tp) if arg is not type(None)]
        if len(args) < len(typing.get_args(tp)):
            return (args[0] if len(args) == 1 else typing.Union[tuple(args)]), True  # noqa: UP007
    return tp, False


def openapi_schema(tp: Any, *, description: str | None = None, enum: Sequence[Any] | None = None) -> dict[str, Any]:
    """The OpenAPI 3.0 schema of a type built from dataclasses, scalars, Literal, list, tuple and dict."""
    inner, nullable = _split_optional(tp)
    schema = _schema(inner)
    if enum is not None:
        schema["enum"] = list(enum)
    if nullable:
        schema["nullable"] = True
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
    if description:
        schema["description"] = description
    return schema


def _schema(tp: Any) -> dict[str, Any]:
    if tp in _SCALARS:
        return dict(_SCALARS[tp])
    if tp is Any:
        return {}
    if dataclasses.is_dataclass(tp):
        return _object_schema(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Literal:
        kinds = {type(arg) for arg in args}
        base = _SCALARS.get(kinds.pop() if len(kinds) == 1 else str, {"type": "string"})
        return {**base, "enum": list(args)}
    if origin in (list, Sequence):
        return {"type": "array", "items": openapi_schema(args[0])}
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": openapi_schema(args[0])}
        return {"type": "array", "items": openapi_schema(args[0]), "minItems": len(args), "maxItems": len(args)}
    if origin in (dict, Mapping):
        return {"type": "object", "additionalProperties": openapi_schema(args[1])}
    raise TypeError(f"no OpenAPI schema for {tp!r}")


def _object_schema(cls: type) -> dict[str, Any]:
    hints = _hints(cls)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for field in dataclasses.fields(cls):
        meta = field.metadata
        schema = openapi_schema(hints[field.name], description=meta.get(_DESCRIPTION), enum=meta.get(_ENUM))
        if meta.get(_NONE_AS_EMPTY):  # None is written as {}: never null, and any key may be missing
            schema.pop("nullable", None)
            schema.pop("required", None)
        if meta.get(_OMIT_NONE):  # None is written as a missing key, never as null
            schema.pop("nullable", None)
            if "enum" in schema:
                schema["enum"] = [value for value in schema["enum"] if value is not None]
        properties[_json_name(field)] = schema
        if not _optional(field):
            required.append(_json_name(field))
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    doc = (cls.__doc__ or "").strip()
    if doc and not doc.startswith(f"{cls.__name__}("):  # dataclasses invent a docstring when there is none
        schema["description"] = " ".join(doc.split())
    return schema
