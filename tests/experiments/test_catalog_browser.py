"""Catalog experiments in headless Chromium against a live server: the copy review page (a
Marketer approves what passes, edits one, rejects one, filters the flagged ones) and the demo
listing page (every card's copy from one /api/v1/copy call; events carry their product).

The live server runs in this process and Celery is eager, so posted events are stored before the
API answers."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, unquote, urlencode, urlparse

import pytest
from django.conf import settings
from django.test import Client

from experiments.assignment import assign_variant
from experiments.models import VariantCopy
from ingest.models import Event, EventType
from tests.browser import chromium_launched
from tests.experiments.catalog_helpers import FLAGGED_COPY, approve_all_and_start, catalog_experiment, catalog_products

REVIEW = "/experiments/tees/variants/llm-l050/review"


@pytest.fixture(scope="module")
def browser(django_db_setup, live_server):
    with chromium_launched() as launched:
        yield launched


@pytest.fixture
def pages(browser, live_server):
    """New pages (optionally logged in as a user); fails the test on any JavaScript error but those
    containing an `allow`ed text (a refusal the test provokes on purpose)."""
    contexts, errors, allowed = [], [], []

    def open_page(user=None, allow: tuple[str, ...] = ()):
        allowed.extend(allow)
        context = browser.new_context()
        if user is not None:
            client = Client()
            client.force_login(user)
            cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
        page.on("console", lambda msg: msg.type == "error" and errors.append(f"console: {msg.text}"))
        return page

    yield open_page
    for context in contexts:
        context.close()
    unexpected = [e for e in errors if not any(a in e for a in allowed)]
    assert not unexpected, f"JavaScript errors on the page: {unexpected}"


def _status(sku: str) -> str:
    return VariantCopy.objects.get(variant__key="llm-l050", product__sku=sku).status


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_review_page_approve_passing_edit_reject_and_filter(live_server, pages, marketer):
    catalog_experiment("tees", catalog_products(6), owner=marketer, flagged=("TEE-001",), failed=("TEE-004",))
    page = pages(marketer, allow=("status of 400",))  # approving flagged copy is refused: 400
    page.goto(live_server.url + REVIEW)
    assert page.locator("#review-table > tbody > tr").count() == 6
    assert "forbidden word 'cheap'" in page.text_content("#row-TEE-001 .checks")

    page.click("#approve-passing")
    page.wait_for_selector("#review-message")
    assert "Approved 4 copies" in page.text_content("#review-message")
    assert page.get_attribute("#row-TEE-002", "data-status") == "approved"
    assert page.get_attribute("#row-TEE-001", "data-status") == "pending"

    # Approving the flagged copy as it is: refused on the page with the reason, nothing changes.
    page.click("#row-TEE-001 button[value=approve]")
    page.wait_for_selector("#review-error")
    assert "cannot approve copy with problems" in page.text_content("#review-error")
    assert _status("TEE-001") == "pending"

    # Edit it (drop the forbidden word), then approve.
    fixed = FLAGGED_COPY.replace("A cheap organic", "An organic")
    page.fill("#row-TEE-001 textarea", fixed)
    page.click("#row-TEE-001 button[value=save]")
    page.wait_for_selector("#review-message:has-text('TEE-001: saved.')")
    assert page.text_content("#row-TEE-001 .checks").strip() == "passes"
    page.click("#row-TEE-001 button[value=approve]")
    page.wait_for_selector("#review-message:has-text('TEE-001: approved.')")
    row = VariantCopy.objects.get(variant__key="llm-l050", product__sku="TEE-001")
    assert (row.status, row.copy, row.reviewed_by) == ("approved", fixed, marketer)

    page.click("#row-TEE-005 button[value=reject]")
    page.wait_for_selector("#review-message:has-text('TEE-005: rejected.')")
    assert _status("TEE-005") == "rejected"

    page.check("input[name=flagged]")
    page.click("#apply-filters")
    page.wait_for_url("**flagged=1**")
    assert [r.get_attribute("data-sku") for r in page.locator("#review-table > tbody > tr").all()] == ["TEE-004"]
    # 4 approved as passing, TEE-001 approved after its edit, TEE-005 (approved) then rejected
    assert page.text_content("#review-counts [data-status=approved] strong") == "4"
    assert page.text_content("#review-counts [data-status=rejected] strong") == "1"
    assert page.text_content("#review-counts [data-status=failed] strong") == "1"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_listing_page_fills_every_card_from_one_copy_call_and_events_carry_the_product(
    live_server, pages, marketer, write_key
):
    experiment = approve_all_and_start(catalog_experiment("tees", catalog_products(4), owner=marketer), marketer)
    page = pages()
    api_calls, posted = [], []
    page.on("request", lambda r: "/api/v1/" in r.url and api_calls.append(r.url))
    page.on(
        "request",
        lambda r: (
            r.url.endswith("/api/v1/events") and r.method == "POST" and posted.extend(json.loads(r.post_data)["events"])
        ),
    )
    accepted: list[int] = []

    def answered(response) -> None:
        if response.url.endswith("/api/v1/events") and response.request.method == "POST":
            accepted.append(response.json()["accepted"] if response.ok else 0)

    page.on("response", answered)
    page.goto(f"{live_server.url}/demo/store/listing?{urlencode({'experiment': 'tees', 'write_key': write_key[1]})}")
    page.wait_for_function("() => window.copylift !== undefined")
    result = page.evaluate("() => window.copylift.ready")
    unit = unquote(next(c["value"] for c in page.context.cookies() if c["name"] == "copylift_uid"))

    copy_calls = [u for u in api_calls if "/api/v1/copy?" in u]
    assert len(copy_calls) == 1 and not [u for u in api_calls if "/api/v1/assign" in u]
    query = parse_qs(urlparse(copy_calls[0]).query)
    assert query["unit"] == [unit] and query["products"] == ["TEE-001,TEE-002,TEE-003,TEE-004"]

    skus = ["TEE-001", "TEE-002", "TEE-003", "TEE-004"]
    expected = {sku: assign_variant(experiment_key="tees", unit=unit, product=sku) for sku in skus}
    assert {a.variant for a in expected.values()} == {result["products"]["TEE-001"]["variant"]}  # one arm
    for sku in skus:
        assert result["products"][sku]["copy"] == expected[sku].copy
        assert page.text_content(f"#card-{sku} [data-copylift-slot]") == expected[sku].copy
        assert page.get_attribute(f"#card-{sku} [data-copylift-slot]", "data-copylift-variant") == expected[sku].variant

    page.click("#card-TEE-002 [data-copylift-slot]")
    page.click("#card-TEE-003 [data-copylift-add-to-cart]")
    # Wait on the wire, not on the database: reading the shared in-memory SQLite while the live
    # server writes events locks the table. Celery is eager: an answered batch is stored.
    deadline = time.monotonic() + 8
    want = {("impression", s) for s in skus} | {("click", "TEE-002"), ("add_to_cart", "TEE-003")}
    while {(e["type"], e.get("product")) for e in posted} != want or sum(accepted) < len(want):
        assert time.monotonic() < deadline, f"posted {posted}, accepted {accepted}"
        page.wait_for_timeout(100)
    assert all(e["experiment"] == "tees" and e["variant"] == expected["TEE-001"].variant for e in posted)
    stored = Event.objects.filter(experiment=experiment, unit=unit)
    assert sorted(EventType(t).label for t in stored.values_list("type", flat=True)) == [
        "add_to_cart",
        "click",
        *["impression"] * 4,
    ]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_one_product_page_with_data_product_asks_assign_with_the_product(live_server, pages, marketer, write_key):
    """A storefront's product page of a catalog experiment: one slot with data-product."""
    approve_all_and_start(catalog_experiment("tees", catalog_products(3), owner=marketer), marketer)
    page = pages()
    api_calls, answered = [], []
    page.on("request", lambda r: "/api/v1/" in r.url and api_calls.append(r.url))
    page.on("response", lambda r: r.url.endswith("/api/v1/events") and answered.append(r.request.post_data_json))
    html = (
        '<p id="slot" data-copylift-slot data-product="TEE-002">fallback</p>'
        f'<script src="{live_server.url}/tracker.js" data-experiment="tees" data-write-key="{write_key[1]}"></script>'
    )
    page.route(f"{live_server.url}/shop/tee", lambda route: route.fulfill(body=html, content_type="text/html"))
    page.goto(f"{live_server.url}/shop/tee")
    assignment = page.evaluate("() => window.copylift.ready")
    assert assignment["product"] == "TEE-002"
    assert page.text_content("#slot") == assignment["copy"]
    assert [u for u in api_calls if "/assign?" in u] and "product=TEE-002" in api_calls[0]
    # The impression carries the product; waiting for its answer also leaves nothing in flight
    # (a request during the test's database flush would lock the shared in-memory SQLite).
    deadline = time.monotonic() + 8
    while not answered:
        assert time.monotonic() < deadline, "no impression was posted"
        page.wait_for_timeout(100)
    [impression] = answered[0]["events"]
    assert (impression["type"], impression["product"], impression["experiment"]) == ("impression", "TEE-002", "tees")
