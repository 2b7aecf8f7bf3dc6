"""tracker.js in headless Chromium against a live server, and the pages that serve it.

The live server runs in this process and Celery is eager, so the events the browser posts are
stored before the API answers: the tests read `Event` rows directly.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta
from urllib.parse import quote, unquote, urlencode

import pytest
from django.db import OperationalError
from django.test import Client, override_settings
from django.utils import timezone

from catalog.models import Category, Product
from experiments.assignment import snapshot_cache_clear
from experiments.models import Experiment
from ingest.models import Event, EventType, UnitAttributes
from tests.browser import chromium_launched

XSS_COPY = 'Great sound <img src=x onerror="window.__pwned=1"> <script>window.__pwned=1</script> all day.'
EVENT_TIMEOUT_S = 8.0

# --- Fixtures and helpers for the browser tests ---


@pytest.fixture(scope="module")
def browser(django_db_setup, live_server):
    with chromium_launched() as launched:
        yield launched


class JsErrors:
    """Page errors and console errors; a test may allow messages it provokes on purpose."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.allowed: list[str] = []

    def check(self) -> None:
        unexpected = [m for m in self.messages if not any(a in m for a in self.allowed)]
        assert not unexpected, f"JavaScript errors on the page: {unexpected}"


@pytest.fixture
def page_and_errors(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors = JsErrors()
    page.on("pageerror", lambda exc: errors.messages.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: msg.type == "error" and errors.messages.append(f"console: {msg.text}"))
    yield page, errors
    context.close()
    errors.check()


@pytest.fixture
def running(make_experiment):
    experiment = make_experiment(start=True)
    # Events stamped before the start are refused; the browser's clock and ours are the same.
    experiment.started_at = timezone.now() - timedelta(minutes=5)
    experiment.save(update_fields=["started_at"])
    snapshot_cache_clear()
    return experiment


@pytest.fixture
def clear_key(write_key):
    return write_key[1]


def store_url(live_server, experiment: Experiment, key: str | None) -> str:
    params = {"experiment": experiment.key}
    if key:
        params["write_key"] = key
    return f"{live_server.url}/demo/store/?{urlencode(params)}"


def open_store(page, url: str) -> dict:
    page.goto(url)
    page.wait_for_function("() => window.copylift !== undefined")  # the script is async
    assignment = page.evaluate("() => window.copylift.ready")
    assert assignment is not None, "the tracker got no assignment"
    return assignment


def unit_cookie(page) -> dict:
    cookies = [c for c in page.context.cookies() if c["name"] == "copylift_uid"]
    assert len(cookies) == 1
    return cookies[0]


def counts(experiment: Experiment, unit: str) -> Counter:
    types = Event.objects.filter(experiment=experiment, unit=unit).values_list("type", flat=True)
    return Counter(EventType(t).label for t in types)


def _counts_when_readable(experiment: Experiment, unit: str) -> Counter | None:
    """None while the live server's worker holds the table: the in-memory SQLite database shares one cache,
    whose table locks fail a concurrent read at once instead of waiting (PostgreSQL never does this)."""
    try:
        return counts(experiment, unit)
    except OperationalError as exc:
        if "locked" not in str(exc):
            raise
        return None


def wait_for_counts(page, experiment: Experiment, unit: str, expected: dict[str, int]) -> None:
    """Poll the database, letting Playwright run (route handlers) while waiting."""
    deadline = time.monotonic() + EVENT_TIMEOUT_S
    while (got := _counts_when_readable(experiment, unit)) != Counter(expected):
        assert time.monotonic() < deadline, f"events {dict(got or {})}, expected {expected}"
        page.wait_for_timeout(100)


def settle(page) -> None:
    """Long enough for another flush (1 s) to have sent anything still queued."""
    page.wait_for_timeout(1_300)


# --- Browser tests ---


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_store_assigns_copy_and_reports_each_action_once(live_server, running, clear_key, page_and_errors):
    page, errors = page_and_errors
    assignment = open_store(page, store_url(live_server, running, clear_key))

    cookie = unit_cookie(page)
    unit = unquote(cookie["value"])
    assert cookie["sameSite"] == "Lax"
    assert 364 * 86400 < cookie["expires"] - time.time() <= 365 * 86400
    api = page.request.get(f"{live_server.url}/api/v1/assign?{urlencode({'experiment': running.key, 'unit': unit})}")
    assert api.ok
    assert assignment == api.json()
    assert assignment["in_experiment"] is True
    assert page.text_content("#copy-slot") == api.json()["copy"]
    wait_for_counts(page, running, unit, {"impression": 1})

    page.click("#copy-slot")
    page.click("#add-to-cart")
    page.click("#buy-now")
    page.wait_for_selector("#demo-status:has-text('Order placed')")
    wait_for_counts(page, running, unit, {"impression": 1, "click": 1, "add_to_cart": 1, "order": 1})
    order = Event.objects.get(experiment=running, unit=unit, type=EventType.ORDER)
    assert order.revenue == pytest.approx(79.0)
    assert {e.variant.key for e in Event.objects.filter(unit=unit).select_related("variant")} == {assignment["variant"]}
    # The visitor's attributes (segments), kept once: headless Chromium on Linux, first visit, no referrer.
    attributes = UnitAttributes.objects.get(experiment=running, unit=unit)
    assert (attributes.device, attributes.visitor, attributes.source, attributes.country) == (
        "desktop",
        "new",
        "direct",
        "",
    )

    page.reload()
    again = page.evaluate("() => window.copylift.ready")
    assert unquote(unit_cookie(page)["value"]) == unit
    assert again == assignment
    assert page.text_content("#copy-slot") == assignment["copy"]
    wait_for_counts(page, running, unit, {"impression": 2, "click": 1, "add_to_cart": 1, "order": 1})
    settle(page)
    assert counts(running, unit) == Counter({"impression": 2, "click": 1, "add_to_cart": 1, "order": 1})
    assert page.evaluate("() => localStorage.getItem('copylift_pending_v1')") is None
    errors.check()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_untrusted_copy_product_and_unit_are_shown_as_text(
    live_server, make_experiment, clear_key, page_and_errors, product
):
    page, errors = page_and_errors
    hostile = Product.objects.create(
        sku="XSS-001",
        title='<script>window.__pwned=1</script>Earbuds "quoted"',
        brand=product.brand,
        category=Category.objects.get(name="Electronics"),
        price="12.50",
        description="Plain earbuds for a plain test.",
    )
    rows = [
        {"key": "control", "is_control": True, "copy": XSS_COPY, "weight": 1, "approved": True},
        {"key": "llm-l050", "lambda_value": 0.5, "copy": XSS_COPY + " Now.", "weight": 1, "approved": True},
    ]
    experiment = make_experiment("xss-copy", start=True, product=hostile, variants=rows)
    experiment.started_at = timezone.now() - timedelta(minutes=5)
    experiment.save(update_fields=["started_at"])
    snapshot_cache_clear()
    hostile_unit = '<img src=x onerror="window.__pwned=1">'
    page.context.add_cookies([{"name": "copylift_uid", "value": quote(hostile_unit, safe=""), "url": live_server.url}])

    assignment = open_store(page, store_url(live_server, experiment, clear_key))
    assert page.text_content("#copy-slot") == assignment["copy"]
    assert assignment["copy"].startswith(XSS_COPY)
    assert page.locator("#copy-slot img, #copy-slot script").count() == 0
    assert page.text_content("#product-title") == hostile.title
    assert page.text_content("#demo-unit") == hostile_unit
    wait_for_counts(page, experiment, hostile_unit, {"impression": 1})  # the unit travels as data
    assert page.evaluate("() => typeof window.__pwned") == "undefined"
    errors.check()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_events_survive_a_503_with_retry_after(live_server, running, clear_key, page_and_errors):
    page, errors = page_and_errors
    errors.allowed.append("status of 503")  # Chromium logs the refused request itself
    calls: list[float] = []

    def flaky(route):
        calls.append(time.monotonic())
        if len(calls) == 1:
            route.fulfill(status=503, headers={"Retry-After": "1"}, json={"error": "event queue unavailable"})
        else:
            route.continue_()

    page.route("**/api/v1/events", flaky)
    open_store(page, store_url(live_server, running, clear_key))
    unit = unquote(unit_cookie(page)["value"])
    page.click("#copy-slot")
    wait_for_counts(page, running, unit, {"impression": 1, "click": 1})
    assert len(calls) >= 2
    assert calls[1] - calls[0] >= 0.95, "the retry came before Retry-After"
    settle(page)
    assert counts(running, unit) == Counter({"impression": 1, "click": 1})
    errors.check()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_events_kept_in_local_storage_are_sent_after_a_reload(
    live_server, running, clear_key, page_and_errors, settings, tmp_path
):
    page, errors = page_and_errors
    errors.allowed.append("net::ERR_FAILED")  # the aborted requests
    settings.VAR_DIR = tmp_path  # the write key comes from the file the demo seed writes
    settings.DEBUG = True  # which the page reads only in development (or for staff)
    (tmp_path / "demo_write_key").write_text(clear_key + "\n")

    page.route("**/api/v1/events", lambda route: route.abort())  # the endpoint is unreachable
    open_store(page, store_url(live_server, running, None))
    unit = unquote(unit_cookie(page)["value"])
    page.click("#copy-slot")
    page.wait_for_function("() => (JSON.parse(localStorage.getItem('copylift_pending_v1')) || []).length === 2")
    assert counts(running, unit) == Counter()

    page.unroute("**/api/v1/events")
    page.reload()  # the stored impression and click go out with the new page's impression
    wait_for_counts(page, running, unit, {"impression": 2, "click": 1})
    settle(page)
    assert counts(running, unit) == Counter({"impression": 2, "click": 1})
    errors.check()


# --- The pages without a browser ---


@pytest.mark.django_db
def test_tracker_js_is_served_without_collectstatic_and_with_debug_off():
    with override_settings(DEBUG=False, STATIC_ROOT="/nonexistent"):
        response = Client().get("/tracker.js")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/javascript")
        assert "max-age=300" in response["Cache-Control"] and "public" in response["Cache-Control"]
        assert b"copylift_uid" in response.content
        assert Client().get("/tracker.js", HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304
        assert Client().post("/tracker.js").status_code == 405


@pytest.mark.django_db
def test_demo_store_without_running_experiment_explains_what_to_do(make_experiment):
    make_experiment()  # a draft
    response = Client().get("/demo/store/")
    assert response.status_code == 200
    assert b"No experiment is running" in response.content
    missing = Client().get("/demo/store/?experiment=%3Cb%3Enope")
    assert missing.status_code == 404
    assert b"&lt;b&gt;nope" in missing.content and b"<b>nope" not in missing.content


@pytest.mark.django_db
def test_demo_store_write_key_sources(running, clear_key, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    page = Client().get("/demo/store/").content.decode()
    assert "create_write_key demo" in page and "data-write-key" not in page

    (tmp_path / "demo_write_key").write_text(clear_key + "\n")
    page = Client().get("/demo/store/").content.decode()
    assert "data-write-key" not in page  # DEBUG off: anonymous visitors never get the file's key

    settings.DEBUG = True
    page = Client().get("/demo/store/").content.decode()
    assert f'data-write-key="{clear_key}"' in page and f'data-experiment="{running.key}"' in page
    assert '<script id="demo-config" type="application/json">{"price": 79.0' in page

    page = Client().get("/demo/store/?" + urlencode({"write_key": '"><script>x()</script>'})).content.decode()
    assert "unknown or revoked" in page and "<script>x()" not in page and "data-write-key" not in page
