"""Typed readers for settings that come from the environment.

Each helper reads one variable once and fails loudly, naming the variable, when its value
cannot be parsed: a typo in production configuration must stop start-up, not silently fall
back to a default.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigurationError(RuntimeError):
    """A setting from the environment is missing or malformed."""


def envstr(name: str, default: str) -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigurationError(f"{name}={raw!r} is not a boolean (use one of 1/0, true/false, yes/no, on/off)")


def _envparsed(name: str, default: T, parse: Callable[[str], T], kind: str) -> T:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return parse(raw.strip())
    except ValueError as exc:
        raise ConfigurationError(f"{name}={raw!r} is not {kind}") from exc


def envint(name: str, default: int) -> int:
    return _envparsed(name, default, int, "an integer")


def envfloat(name: str, default: float) -> float:
    return _envparsed(name, default, float, "a number")


def envlist(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def envchoice(name: str, default: str, choices: set[str]) -> str:
    value = os.environ.get(name, default).strip().lower()
    if value not in choices:
        raise ConfigurationError(f"{name}={value!r} must be one of {sorted(choices)}")
    return value
