"""The two roles of the platform and what each may do.

- Marketer: edits the catalog, brand rules, experiments and their copy; runs generation.
- Analyst: reads everything (admin view permissions, reports); changes nothing.
Superusers are the admins; they alone manage write keys (credentials that let anyone holding them
post events: creating, scoping and revoking one is an admin's act). Anonymous users see nothing
but the storefront endpoints.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import SAFE_METHODS, AllowAny, BasePermission
from rest_framework.views import APIView

MARKETER = "Marketer"
ANALYST = "Analyst"

# app label -> models whose permissions the roles get; kept here so new models join the roles
# by adding one line instead of a new data migration.
ROLE_MODELS: dict[str, tuple[str, ...]] = {
    "catalog": ("category", "product", "brandguideline"),
    "experiments": ("experiment", "variant"),
    "generator": ("generationjob", "candidate", "conversionpredictor", "adapter"),
    "analytics": ("reportsnapshot",),
}
# Models both roles may only view (Marketers included): write keys and what ingestion recorded.
READ_ONLY_MODELS: dict[str, tuple[str, ...]] = {
    "ingest": ("writekey", "ingeststats", "quarantinedevent", "unitattributes", "pendingbatch"),
}


def _in_group(user: Any, name: str) -> bool:
    if not user or not user.is_authenticated:
        return False
    cache = getattr(user, "_copylift_groups", None)
    if cache is None:
        cache = set(user.groups.values_list("name", flat=True))
        user._copylift_groups = cache
    return name in cache


def is_admin(user: Any) -> bool:
    return bool(user and user.is_authenticated and user.is_superuser)


def can_edit(user: Any) -> bool:
    return is_admin(user) or _in_group(user, MARKETER)


def can_read(user: Any) -> bool:
    return can_edit(user) or _in_group(user, ANALYST)


class MarketerWritesAnalystReads(BasePermission):
    """Read for Analysts and Marketers, write for Marketers and admins."""

    message = "Marketer or admin role required to change this; Analysts may only read."

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return can_read(request.user)
        return can_edit(request.user)


class AnyRole(BasePermission):
    """Analysts, Marketers and admins: the API schema and its docs describe the management API,
    which anonymous visitors and users without a role may not call."""

    message = "Analyst, Marketer or admin role required."

    def has_permission(self, request, view) -> bool:
        return can_read(request.user)


def reader_required(refusal: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """For the site's pages: anonymous visitors go to the admin login; a logged-in user without a
    role gets 403 with `refusal`."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            from django.contrib.auth.views import redirect_to_login  # needs the app registry

            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not can_read(request.user):
                raise PermissionDenied(refusal)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def role_permissions_sync(**_signal_kwargs: Any) -> None:
    """Give the role groups their permissions (idempotent). Connected to post_migrate so that
    models added by later migrations join the roles without a data migration of their own."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    for config in apps.get_app_configs():
        create_permissions(config, verbosity=0)
    marketer, _ = Group.objects.get_or_create(name=MARKETER)
    analyst, _ = Group.objects.get_or_create(name=ANALYST)
    for app_label, models in ROLE_MODELS.items():
        perms = Permission.objects.filter(content_type__app_label=app_label, content_type__model__in=models)
        marketer.permissions.add(*perms)
        analyst.permissions.add(*perms.filter(codename__startswith="view_"))
    for app_label, models in READ_ONLY_MODELS.items():
        perms = Permission.objects.filter(content_type__app_label=app_label, content_type__model__in=models)
        viewing = perms.filter(codename__startswith="view_")
        # Earlier versions gave Marketers every write-key permission: take the others back.
        for group in (marketer, analyst):
            group.permissions.remove(*perms.exclude(codename__startswith="view_"))
            group.permissions.add(*viewing)


class StorefrontView(APIView):
    """A storefront endpoint, called from shoppers' browsers: it reads no session or token and
    anyone may call it (the events endpoint checks its write key itself)."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
