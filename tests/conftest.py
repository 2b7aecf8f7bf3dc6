"""Shared fixtures: users in each role, API clients, a catalog product and experiments."""

from __future__ import annotations

import importlib
import os
from datetime import timedelta

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from abplatform.roles import ANALYST, MARKETER, role_permissions_sync
from catalog.models import BrandGuideline, Category, Product
from catalog.paper import paper_categories_seed
from experiments import services
from experiments.models import Experiment

IN_CI = os.environ.get("CI", "").lower() == "true"

# For servers and workers started by storage and fault tests: their synthetic streams (every
# event of a unit at one instant, clicks and orders in a fixed cycle) test exactly-once storage,
# not the plausibility rules or rate limits (tests/ingest/test_hostile.py covers those).
STORAGE_ONLY_ENV = {
    "INGEST_RATE_LIMIT_PER_MINUTE": "0",
    "INGEST_RATE_LIMIT_PER_IP_PER_MINUTE": "0",
    "INGEST_MAX_CLICKS_PER_IMPRESSION": "0",
    "INGEST_ORDERS_NEED_CLICK": "0",
    "INGEST_BURST_MAX_EVENTS_PER_SECOND": "0",
}


def require(condition: bool, reason: str) -> None:
    """Skip on a user's machine that lacks a service or browser; fail under CI=true instead."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required under CI: {reason}")
    pytest.skip(reason)


def _user(username: str, group: str | None = None, superuser: bool = False) -> User:
    user = User.objects.create_user(
        username=username, password="pw-" + username, is_superuser=superuser, is_staff=superuser or group is not None
    )
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def marketer(db) -> User:
    return _user("mia", MARKETER)


@pytest.fixture
def analyst(db) -> User:
    return _user("ann", ANALYST)


@pytest.fixture
def admin_user(db) -> User:
    return _user("root", superuser=True)


@pytest.fixture
def outsider(db) -> User:
    return _user("olly")


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def page_client(user: User) -> Client:
    """A client for the site's pages (admin, review, reports) with `user`'s session."""
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def marketer_client(marketer) -> APIClient:
    return client_for(marketer)


@pytest.fixture
def analyst_client(analyst) -> APIClient:
    return client_for(analyst)


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()


@pytest.fixture
def product(db) -> Product:
    BrandGuideline.objects.create(
        brand="Voltora", tone="clear and technical", forbidden_words=["cheap"], max_length=200, cta_required=False
    )
    return Product.objects.create(
        sku="ELEC-T01",
        title="Voltora Pulse wireless earbuds",
        brand="Voltora",
        category=Category.objects.get(name="Electronics"),
        price="79.00",
        description="Wireless earbuds with 30 hours of battery life and a compact charging case.",
        attributes={"battery_life_h": 30, "connectivity": "Bluetooth 5.3"},
    )


@pytest.fixture
def review_tees(marketer) -> Experiment:
    """Draft catalog experiment `tees` over six tees whose LLM arm `llm-l050` awaits review:
    TEE-001's copy is flagged, TEE-004's generation failed (tests.experiments.catalog_helpers)."""
    from tests.experiments.catalog_helpers import catalog_experiment, catalog_products

    return catalog_experiment("tees", catalog_products(6), owner=marketer, flagged=("TEE-001",), failed=("TEE-004",))


def variant_rows(approved: bool = True) -> list[dict]:
    return [
        {
            "key": "control",
            "is_control": True,
            "copy": "Wireless earbuds with 30 hours of battery life.",
            "weight": 1,
            "approved": approved,
        },
        {
            "key": "llm-l040",
            "lambda_value": 0.4,
            "weight": 1,
            "approved": approved,
            "copy": "Thirty hours of music on one charge: Pulse keeps up with your day. Shop now.",
        },
        {
            "key": "llm-l060",
            "lambda_value": 0.6,
            "weight": 2,
            "approved": approved,
            "copy": "Your commute, your soundtrack, all day long. Discover Pulse today.",
        },
    ]


@pytest.fixture
def make_experiment(product, marketer):
    def make(
        key: str = "pulse-copy",
        *,
        start: bool = False,
        started_ago: timedelta | None = None,
        approved: bool = True,
        **kwargs,
    ) -> Experiment:
        """`started_ago` starts the experiment and dates its start back by that much (events
        stamped before the start are refused, so tests that send past events need it)."""
        kwargs.setdefault("variants", variant_rows(approved))
        experiment = services.experiment_create(
            key=key, name=f"Copy test {key}", product=kwargs.pop("product", product), owner=marketer, **kwargs
        )
        if start or started_ago is not None:
            services.experiment_start(experiment=experiment, user=marketer)
            experiment.refresh_from_db()
        if started_ago is not None:
            experiment.started_at = timezone.now() - started_ago
            experiment.save(update_fields=["started_at"])
        return experiment

    return make


@pytest.fixture(autouse=True)
def _celery_eager(request):
    """Unit tests run tasks inline; integration tests use the real broker and a real worker."""
    from abplatform.celery import app

    eager = request.node.get_closest_marker("integration") is None
    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = eager
    app.conf.task_eager_propagates = eager
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture
def write_key(db):
    from ingest.writekeys import write_key_create

    return write_key_create(name="test storefront")


@pytest.fixture(autouse=True)
def _clear_assignment_cache():
    from experiments.assignment import snapshot_cache_clear

    snapshot_cache_clear()
    yield
    snapshot_cache_clear()


def _is_transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    return bool(
        (marker and marker.kwargs.get("transaction")) or {"live_server", "transactional_db"} & set(request.fixturenames)
    )


@pytest.fixture(autouse=True)
def _migration_rows(request):
    """A transactional test empties every table when it ends, the categories and role groups that
    migrations seed included: put them back (idempotently) before each transactional test."""
    if not _is_transactional(request):
        return
    request.getfixturevalue("transactional_db")
    paper_categories_seed(Category)
    importlib.import_module("experiments.migrations.0002_roles").create_groups(django_apps, None)
    role_permissions_sync()


def arm_copy(variant):
    """The copy row of an arm of a one-product experiment (its only product)."""
    from experiments.models import VariantCopy

    return VariantCopy.objects.select_related("reviewed_by").get(variant=variant)
