"""Dependencies run one way: the catalog, experiments and ingestion never import the apps that build on
them (generator, analytics, demo, simulator), not even late inside a function; the statistics engine
imports no Django and no app, nor do the copy guards (catalog.guards) beyond themselves; ingestion's storage
back ends are reached through ingest.store only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ABOVE = {"generator", "analytics", "demo", "simulator"}


def _modules(path: Path) -> set[str]:
    """The absolute module names the file imports, anywhere in it."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def _imported(path: Path) -> set[str]:
    return {name.split(".")[0] for name in _modules(path)}


def _sources(*parts: str) -> list[Path]:
    return [path for path in sorted(ROOT.joinpath(*parts).rglob("*.py")) if "migrations" not in path.parts]


@pytest.mark.parametrize("app", ["catalog", "experiments", "ingest"])
def test_app_imports_nothing_that_builds_on_it(app):
    wrong = {str(path.relative_to(ROOT)): sorted(_imported(path) & ABOVE) for path in _sources(app)}
    assert {path: apps for path, apps in wrong.items() if apps} == {}


def test_statistics_engine_imports_no_django_and_no_app():
    apps = {"abplatform", "catalog", "experiments", "ingest", "generator", "demo", "simulator"}
    wrong = {
        str(path.relative_to(ROOT)): sorted(
            name
            for name in _modules(path)
            if name.split(".")[0] in apps | {"django", "rest_framework", "celery"}
            or (name.split(".")[0] == "analytics" and not name.startswith("analytics.stats"))
        )
        for path in _sources("analytics", "stats")
    }
    assert {path: names for path, names in wrong.items() if names} == {}


def test_copy_guards_are_pure_functions_of_text_and_product_data():
    """catalog.guards runs in the reranker, the evaluation, the RL reward and the review screens alike:
    it imports no Django, no model library and no app but itself, anywhere in a module."""
    wrong = {
        str(path.relative_to(ROOT)): sorted(
            name
            for name in _modules(path)
            if name.split(".")[0]
            in {"abplatform", "experiments", "ingest", "generator", "analytics", "demo"}
            | {"simulator", "django", "rest_framework", "celery", "torch", "transformers", "sentence_transformers"}
            or (name.split(".")[0] == "catalog" and not name.startswith("catalog.guards"))
        )
        for path in _sources("catalog", "guards")
    }
    assert {path: names for path, names in wrong.items() if names} == {}


def test_ingest_storage_back_ends_are_reached_through_the_store():
    back_ends = {"ingest.store_postgres", "ingest.store_sqlite", "ingest.quarantine"}
    wrong = {
        str(path.relative_to(ROOT)): sorted(_modules(path) & back_ends)
        for app in ("abplatform", "catalog", "experiments", "ingest", "generator", "analytics", "demo", "simulator")
        for path in _sources(app)
        if path.relative_to(ROOT).as_posix() != "ingest/store.py"
    }
    assert {path: names for path, names in wrong.items() if names} == {}
