"""The experiments' change history: who changed what, when, with the old and new values.

Kept in the admin's LogEntry table (the admin's History page reads it); the services write it for
every create, edit, variant change and transition, with the `system` user as the author of
changes made by commands and tasks, so that no change goes unrecorded.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Q

from experiments.models import Experiment, VariantCopy

SYSTEM_USERNAME = "system"
HISTORY_FIELDS = (
    "name",
    "hypothesis",
    "primary_metric",
    "alpha",
    "correction",
    "guardrail_metrics",
    "planned_units",
    "seed",
    "coverage",
    "namespace_id",
    "namespace_start",
    "namespace_end",
    "allocation_mode",
    "bandit_holdout",
    "bandit_floor",
    "product_set",
    "control_fallback",
)


def system_user() -> AbstractBaseUser:
    """The author of changes made by commands and tasks (no person behind them): an inactive user
    without a usable password, so it can never log in."""
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(username=SYSTEM_USERNAME, defaults={"is_active": False})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def history_record(
    experiment: Experiment,
    user: AbstractBaseUser | None,
    message: str,
    *,
    changes: dict[str, dict[str, Any]] | None = None,
    action_flag: int = CHANGE,
) -> None:
    """Record a change in the admin history of the experiment: who, when (LogEntry.action_time),
    and, for edits, each field's old and new value. Without a user (a command, a task) the
    `system` user is the author: no change goes unrecorded."""
    if user is None or not getattr(user, "pk", None):
        user = system_user()
    if changes is not None:
        # Django's own format first (the admin's History page reads it), then the values.
        message = json.dumps(
            [
                {"changed": {"fields": sorted(changes)}},
                {"copylift": {"action": message, "changes": changes}},
            ],
            default=str,
        )
    LogEntry.objects.log_actions(
        user_id=user.pk,
        queryset=[experiment],
        action_flag=action_flag,
        change_message=message,
        single_object=True,
    )


def experiment_history(experiment: Experiment) -> list[dict[str, Any]]:
    """The experiment's history, oldest first: `{"at", "user", "action", "changes"}`."""
    entries = (
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Experiment), object_id=str(experiment.pk)
        )
        .select_related("user")
        .order_by("action_time", "pk")
    )
    history = []
    for entry in entries:
        action, changes = entry.change_message, {}
        if action.startswith("["):
            try:
                parts = json.loads(action)
            except ValueError:
                parts = []
            ours = next((p["copylift"] for p in parts if isinstance(p, dict) and "copylift" in p), None)
            if ours is not None:
                action, changes = ours.get("action", ""), ours.get("changes", {})
            else:
                action = entry.get_change_message()
        elif entry.action_flag == DELETION:
            action = action or "Deleted"
        history.append(
            {
                "at": entry.action_time.isoformat(),
                "user": entry.user.get_username() if entry.user else None,
                "action": action,
                "changes": changes,
            }
        )
    return history


def history_values(experiment: Experiment) -> dict[str, Any]:
    return {name: getattr(experiment, name) for name in HISTORY_FIELDS}


def history_diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: {"old": before[name], "new": after[name]} for name in before if before[name] != after[name]}


def history_variant_values(experiment: Experiment) -> list[dict[str, Any]]:
    # Counted in the database: loading every copy row of a catalog experiment (10,000 products ×
    # arms) to count the approved ones was slow, and on SQLite its IN list of every product broke
    # the query (expression tree too large).
    variants = list(
        experiment.variants.order_by("position", "pk").annotate(
            n_copies=Count("copies"), n_approved=Count("copies", filter=Q(copies__status=VariantCopy.Status.APPROVED))
        )
    )
    only = {c.variant_id: c for c in VariantCopy.objects.filter(variant__in=[v for v in variants if v.n_copies == 1])}
    rows = []
    for v in variants:
        row = {"key": v.key, "is_control": v.is_control, "lambda": v.lambda_value, "weight": v.weight}
        if v.pk in only:  # a one-product experiment's history reads as before
            row |= {"copy": only[v.pk].copy, "approved": only[v.pk].approved}
        else:
            row["approved"] = f"{v.n_approved} of {v.n_copies} products"
        rows.append(row)
    return rows
