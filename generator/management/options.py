"""What the generator's management commands share: the --async switch and the --category lookup.

Outside `commands/` so Django does not list it as a command.
"""

from __future__ import annotations

from django.core.management.base import CommandError, CommandParser

from catalog.models import Category


def add_async_argument(parser: CommandParser, *, what: str) -> None:
    """--async: send the work to the generation queue (its Celery task) instead of running it here."""
    parser.add_argument(
        "--async",
        dest="run_async",
        action="store_true",
        help=f"Queue the {what} on the generation queue instead of running it here.",
    )


def category_named(name: str, *, list_known: bool = False) -> Category:
    """The category called `name` (any case); a CommandError naming it (and, with `list_known`,
    the categories there are) when there is none."""
    category = Category.objects.filter(name__iexact=name.strip()).first()
    if category is not None:
        return category
    if not list_known:
        raise CommandError(f"unknown category {name!r}")
    known = ", ".join(Category.objects.values_list("name", flat=True)) or "none"
    raise CommandError(f"unknown category {name!r} (known: {known})")
