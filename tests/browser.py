"""Headless Chromium (Debian's package) driven by Playwright, shared by the browser tests.

Import `chromium_launched` and wrap it in a module-scoped fixture that depends on `live_server`.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connections

from tests.conftest import require

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium_launched() -> Iterator:
    require(shutil.which("chromium") is not None, "Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Django's connections are context-local, and Playwright's sync API runs what follows in a
    # fresh context, which would get fresh connection objects: with in-memory SQLite, a second
    # connection beside the live server's shared one fails with "database table is locked".
    # Keep using the connection objects of the live server's context.
    outer = {alias: connections[alias] for alias in connections}
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        for alias, connection in outer.items():
            connections[alias] = connection
        # Playwright also keeps an asyncio loop on this thread, and Django refuses ORM calls while
        # one exists (fixtures and database flushes included). The calls really are synchronous;
        # the variable lives exactly as long as the loop.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
