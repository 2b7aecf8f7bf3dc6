"""Errors the experiment services raise; views and admin actions turn them into responses."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

# The database was briefly unavailable (a restart, a dropped connection): tasks retry these with
# backoff instead of failing. One tuple for every queue's tasks.
DATABASE_RETRYABLE: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)


class LifecycleError(Exception):
    """A lifecycle rule forbids the operation (HTTP 409). The message says which rule."""


class FieldErrors(Exception):
    """Invalid input, by field (HTTP 400). `errors` maps a field name to its reason."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in errors.items()))
