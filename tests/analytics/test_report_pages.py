"""The report pages without a browser: access rules, content, escaping, the λ adoption form, assets."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client, override_settings

from catalog.models import Category
from experiments.models import Experiment
from tests.analytics.factories import Truth, sweep_experiment, traffic

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]

PAGES = ("/reports/", "/reports/pulse-copy/", "/reports/lambda/")
XSS = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1">'


def browser_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def running(make_experiment):
    experiment = make_experiment(start=True)
    traffic(experiment, units=800, days=3, seed=21, truths={"llm-l060": Truth(0.16, 0.07)})
    return experiment


def test_anonymous_goes_to_the_admin_login(running):
    for page in PAGES:
        response = Client().get(page)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/?next=")


def test_user_without_a_role_gets_403(running, outsider):
    for page in PAGES:
        assert browser_for(outsider).get(page).status_code == 403


@pytest.mark.parametrize("role", ["analyst", "marketer", "admin_user"])
def test_roles_read_every_page(running, role, request):
    client = browser_for(request.getfixturevalue(role))
    for page in PAGES:
        response = client.get(page)
        assert response.status_code == 200, page
        assert b"cdn" not in response.content.lower()  # plotly.js is served locally
    assert client.get("/reports/nope/").status_code == 404


def _figures(html: str) -> dict[str, dict]:
    scripts = re.findall(r'<script id="(chart-[\w-]+)" type="application/json">(.*?)</script>', html, re.S)
    return {chart_id: json.loads(body) for chart_id, body in scripts}


def test_detail_page_has_decision_tables_and_charts(running, analyst):
    html = browser_for(analyst).get(f"/reports/{running.key}/").content.decode()
    assert "Lift by metric" in html and "Sample ratio check passed" in html
    assert 'class="decision decision-' in html
    figures = _figures(html)
    assert set(figures) == {"chart-lift", "chart-units", "chart-funnel", "chart-tradeoff"}
    for chart_id in figures:
        assert f'data-chart="{chart_id}"' in html
    assert '<script src="/reports/plotly.js?v=' in html and "/reports/assets/reports.js" in html


def test_index_lists_experiments_with_badges_and_filters(running, make_experiment, analyst):
    make_experiment("a-draft")
    client = browser_for(analyst)
    html = client.get("/reports/").content.decode()
    assert running.key in html and "a-draft" in html
    assert "chart-forest" in _figures(html) and 'data-chart="chart-forest"' in html
    assert "badge decision-" in html
    running_only = client.get("/reports/?status=running").content.decode()
    assert running.key in running_only and "a-draft" not in running_only
    apparel = client.get("/reports/?category=Apparel").content.decode()
    assert running.key not in apparel and "No experiment matches these filters" in apparel


def test_empty_states(make_experiment, analyst):
    client = browser_for(analyst)
    assert "No experiments yet" in client.get("/reports/").content.decode()
    quiet = make_experiment("quiet", start=True)
    html = client.get(f"/reports/{quiet.key}/").content.decode()
    assert "No traffic yet" in html and "simulate_traffic --experiment quiet" in html
    assert not _figures(html)
    draft = make_experiment("drafty")
    assert "This experiment is a draft" in client.get(f"/reports/{draft.key}/").content.decode()


def test_user_text_is_escaped(make_experiment, product, analyst):
    Experiment.objects.all().delete()
    rows = [
        {"key": "control", "is_control": True, "copy": "Plain control copy " + XSS, "weight": 1, "approved": True},
        {"key": "llm-l050", "lambda_value": 0.5, "copy": "LLM copy " + XSS, "weight": 1, "approved": True},
    ]
    product.title = "Earbuds " + XSS
    product.save()
    experiment = make_experiment("escaped", start=True, variants=rows)
    Experiment.objects.filter(pk=experiment.pk).update(name=XSS)
    traffic(experiment, units=200, days=2, seed=22)
    client = browser_for(analyst)
    for page in ("/reports/", f"/reports/{experiment.key}/"):
        html = client.get(page).content.decode()
        assert "<script>window.__pwned" not in html and "<img src=x" not in html
        assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html


def test_bad_option_on_the_detail_page(running, analyst):
    response = browser_for(analyst).get(f"/reports/{running.key}/?sequential_method=magic")
    assert response.status_code == 400
    ok = browser_for(analyst).get(f"/reports/{running.key}/?sequential_method=group_sequential&correction=bh")
    assert ok.status_code == 200 and b"group_sequential" in ok.content


def test_marketer_adopts_a_categorys_lambda(marketer):
    category = Category.objects.get(name="Apparel")
    client = browser_for(marketer)
    response = client.post("/reports/lambda/adopt", {"category": category.pk, "lambda": "0.58"})
    assert response.status_code == 302 and response["Location"] == "/reports/lambda/"
    category.refresh_from_db()
    assert category.recommended_lambda == 0.58
    entry = LogEntry.objects.get(object_id=str(category.pk), content_type__model="category")
    assert "0.58" in entry.get_change_message() and entry.user == marketer
    page = client.get(response["Location"]).content.decode()
    assert "now default to λ=0.58" in page
    bad = client.post("/reports/lambda/adopt", {"category": category.pk, "lambda": "1.5"}, follow=True)
    assert "Not adopted" in bad.content.decode()
    category.refresh_from_db()
    assert category.recommended_lambda == 0.58
    assert client.post("/reports/lambda/adopt", {"category": "x", "lambda": "0.5"}).status_code == 404


def test_analyst_cannot_adopt(analyst, outsider):
    category = Category.objects.get(name="Apparel")
    before = category.recommended_lambda
    assert (
        browser_for(analyst).post("/reports/lambda/adopt", {"category": category.pk, "lambda": "0.1"}).status_code
        == 403
    )
    assert (
        browser_for(outsider).post("/reports/lambda/adopt", {"category": category.pk, "lambda": "0.1"}).status_code
        == 403
    )
    assert Client().post("/reports/lambda/adopt", {"category": category.pk, "lambda": "0.1"}).status_code == 302
    assert browser_for(analyst).get("/reports/lambda/adopt").status_code == 405
    category.refresh_from_db()
    assert category.recommended_lambda == before


def test_adopting_needs_the_csrf_token(make_experiment, product, marketer):
    sweep_experiment(make_experiment, key="apparel", category="Apparel", sku="APP-T1", units=1500, seed=3)
    category = Category.objects.get(name="Apparel")
    client = Client(enforce_csrf_checks=True)
    client.force_login(marketer)
    assert client.post("/reports/lambda/adopt", {"category": category.pk, "lambda": "0.1"}).status_code == 403
    page = client.get("/reports/lambda/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = {"category": category.pk, "lambda": "0.1", "csrfmiddlewaretoken": token}
    assert client.post("/reports/lambda/adopt", form).status_code == 302
    category.refresh_from_db()
    assert category.recommended_lambda == 0.1


def test_plotly_and_assets_are_served_offline_with_caching():
    with override_settings(DEBUG=False):
        response = Client().get("/reports/plotly.js?v=1")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/javascript")
        assert "immutable" in response["Cache-Control"]
        assert b"plotly.js v" in response.content[:200]
        assert Client().get("/reports/plotly.js", HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304
        for name in ("reports.js", "reports.css"):
            assert Client().get(f"/reports/assets/{name}").status_code == 200
        assert Client().get("/reports/assets/secret.py").status_code == 404
        assert Client().get("/reports/assets/..%2Fviews.py").status_code == 404
