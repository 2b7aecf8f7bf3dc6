"""The report pages in headless Chromium against a live server: no JavaScript errors, every chart drawn
with its traces, and one screenshot per page under docs/ for the README."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from analytics.snapshots import snapshot_backfill
from catalog.models import Category
from tests.analytics.factories import Truth, candidates_for, sweep_experiment, traffic
from tests.browser import chromium_launched

# The README's screenshots are refreshed only on request (COPYLIFT_SCREENSHOTS=1), so a test run
# never edits tracked files; otherwise they go to a temporary folder and are still checked.
DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def chromium(django_db_setup, live_server):
    with chromium_launched() as launched:
        yield launched


class PageErrors:
    def __init__(self, page) -> None:
        self.messages: list[str] = []
        page.on("pageerror", lambda exc: self.messages.append(f"pageerror: {exc}"))
        page.on("console", lambda msg: msg.type == "error" and self.messages.append(f"console: {msg.text}"))

    def check(self) -> None:
        assert not self.messages, f"JavaScript errors on the page: {self.messages}"


@pytest.fixture
def open_as(chromium, live_server):
    contexts = []

    def make(user):
        client = Client()
        client.force_login(user)
        context = chromium.new_context(viewport={"width": 1360, "height": 900})
        context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                    "url": live_server.url,
                }
            ]
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page, PageErrors(page)

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def demo_data(make_experiment, product):
    """What an analyst sees mid-experiment: a CTR test with generator records, and two λ sweeps."""
    pulse = make_experiment(start=True)
    truths = {"control": Truth(0.09, 0.04), "llm-l040": Truth(0.097, 0.043), "llm-l060": Truth(0.125, 0.052)}
    traffic(pulse, units=12_000, days=10, seed=51, truths=truths)
    candidates_for(pulse)
    for index in (1, 2):
        sweep = sweep_experiment(
            make_experiment,
            key=f"apparel-sweep-{index}",
            category="Apparel",
            sku=f"APP-B{index}",
            units=2500,
            seed=index,
        )
        candidates_for(sweep)
    for experiment in (pulse,):
        snapshot_backfill(experiment=experiment)
    return pulse


def charts_drawn(page, minimum: int) -> int:
    """Waits until every chart slot is drawn; returns how many plots have traces."""
    page.wait_for_function(
        "() => { const slots = document.querySelectorAll('[data-chart]');"
        " return slots.length > 0 && [...slots].every(s => s.getAttribute('data-rendered') === 'true'); }"
    )
    counts = page.evaluate(
        "() => [...document.querySelectorAll('.js-plotly-plot')].map("
        "p => (p._fullData || []).length + ':' + p.querySelectorAll('g.trace, g.funnellayer .point').length)"
    )
    with_traces = [c for c in counts if int(c.split(":")[0]) > 0 and int(c.split(":")[1]) > 0]
    assert len(with_traces) >= minimum, f"plots (traces:drawn marks): {counts}"
    return len(with_traces)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_report_pages_render_their_charts(live_server, open_as, demo_data, analyst, tmp_path):
    page, errors = open_as(analyst)
    shots = DOCS if os.environ.get("COPYLIFT_SCREENSHOTS") == "1" else tmp_path

    page.goto(f"{live_server.url}/reports/")
    assert charts_drawn(page, 1) == 1
    assert page.locator("table.grid tbody tr").count() == 3
    page.screenshot(path=str(shots / "reports-index.png"), full_page=True)

    page.goto(f"{live_server.url}/reports/{demo_data.key}/")
    assert charts_drawn(page, 5) == 5  # cumulative lift, daily lift, daily units, funnel, trade-off
    assert "beats control on CTR" in page.locator(".decision p").inner_text()
    # The metric buttons of the cumulative-lift chart switch the traces without errors.
    # The metric menu of the cumulative-lift chart switches the traces without errors.
    title = "() => document.getElementById('plot-lift').layout.title.text"
    page.locator("#plot-lift .updatemenu-header").click()
    page.locator("#plot-lift .updatemenu-dropdown-button").nth(1).click()  # CVR (the primary metric is CTR)
    page.wait_for_function(f"() => ({title})().includes('CVR')")
    visible = page.evaluate("() => document.getElementById('plot-lift').data.filter(t => t.visible === true).length")
    assert visible == 6  # band low, band high, estimate for each of the two treatments
    page.locator("#plot-lift .updatemenu-header").click()
    page.locator("#plot-lift .updatemenu-dropdown-button").nth(0).click()  # back to CTR for the screenshot
    page.wait_for_function(f"() => ({title})().includes('CTR')")
    # The daily lift: each day's point with its interval, a trend line per treatment, and its own metric menu.
    daily = "() => document.getElementById('plot-daily')"
    assert page.evaluate(f"() => ({daily})().data.filter(t => t.visible === true && t.error_y).length") == 2
    page.locator("#plot-daily .updatemenu-header").click()
    page.locator("#plot-daily .updatemenu-dropdown-button").nth(1).click()
    page.wait_for_function(f"() => ({daily})().layout.title.text.includes('CVR')")
    assert "Is the lift fading?" in page.locator("body").inner_text()
    page.locator("#plot-daily .updatemenu-header").click()
    page.locator("#plot-daily .updatemenu-dropdown-button").nth(0).click()  # back to CTR for the screenshot
    page.wait_for_function(f"() => ({daily})().layout.title.text.includes('CTR')")
    page.mouse.move(0, 0)
    page.wait_for_timeout(600)  # let the menu's closing transition finish before the screenshot
    page.screenshot(path=str(shots / "report-detail.png"), full_page=True)

    page.goto(f"{live_server.url}/reports/lambda/")
    assert charts_drawn(page, 1) >= 1
    assert "recommended λ" in page.locator("section.category").first.inner_text()
    assert page.locator("form.adopt").count() == 0  # Analysts read; only Marketers adopt
    page.screenshot(path=str(shots / "reports-lambda.png"), full_page=True)
    errors.check()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_marketer_adopts_lambda_from_the_page(live_server, open_as, demo_data, marketer):
    page, errors = open_as(marketer)
    page.goto(f"{live_server.url}/reports/lambda/")
    charts_drawn(page, 1)
    button = page.locator("form.adopt button").first
    recommended = float(page.locator("form.adopt input[name=lambda]").first.get_attribute("value"))
    button.click()
    page.wait_for_selector(".message.success")
    assert Category.objects.get(name="Apparel").recommended_lambda == pytest.approx(recommended)
    errors.check()
