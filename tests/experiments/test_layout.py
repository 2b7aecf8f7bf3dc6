"""Dependencies run one way: the catalog and experiments never import the apps that build on them
(generator, analytics, demo, simulator), not even late inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ABOVE = {"generator", "analytics", "demo", "simulator"}


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("app", ["catalog", "experiments"])
def test_app_imports_nothing_that_builds_on_it(app):
    wrong = {
        str(path.relative_to(ROOT)): sorted(_imported(path) & ABOVE)
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts
    }
    assert {path: apps for path, apps in wrong.items() if apps} == {}
