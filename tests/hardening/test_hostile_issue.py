"""Issue "Hostile traffic and insiders: no 500s, no poisoned metrics, no silent edits": each
numbered case of the report, as found against `make run`, pinned as a test (SQLite or PostgreSQL)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.test import Client

from experiments.history import experiment_history
from experiments.models import Experiment
from ingest.models import Event, IngestStats, QuarantinedEvent, RateLimitWindow, UnitTotals, WriteKey
from ingest.tasks import events_ingest
from ingest.writekeys import write_key_create, write_key_revoke
from tests.conftest import _user, arm_copy
from tests.hardening.conftest import RUNNING_KEY

pytestmark = pytest.mark.django_db


def _ts(minutes_ago: float = 5) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()


def _post_events(events: list[dict], key: str, **extra):
    body = json.dumps({"events": events})
    return Client().post(
        "/api/v1/events", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}", **extra
    )


def _raw(body: str, **extra):
    return Client().post("/api/v1/events", body, content_type="application/json", **extra)


# --- 1. Metric poisoning with a public write key ------------------------------------------------------------------


def test_case1_poisoned_stream_is_quarantined_or_refused_never_summed(running_experiment, write_key):
    key_obj, key = write_key
    exp = RUNNING_KEY
    events = [{"event_id": "imp", "type": "impression", "experiment": exp, "unit": "mallory", "ts": _ts(30)}]
    # 20 clicks and 20 orders for one impression, spread over minutes (no burst), orders worth 1e9.
    for i in range(20):
        events.append({"event_id": f"c{i}", "type": "click", "experiment": exp, "unit": "mallory", "ts": _ts(29 - i)})
    for i in range(20):
        order = {"event_id": f"o{i}", "type": "order", "experiment": exp, "unit": "mallory", "ts": _ts(8 - i * 0.1)}
        events.append({**order, "revenue": 1e9})
    response = _post_events(events, key)
    assert response.status_code == 202
    data = response.json()
    # Revenue above 20 × the product's price (79.00) is refused by field, with the reason.
    assert data["accepted"] == 21 and len(data["rejected"]) == 20
    assert all(r["errors"] == {"revenue": "more than 20 × the product's price (79.00)"} for r in data["rejected"])
    totals = UnitTotals.objects.get(experiment=running_experiment, unit="mallory")
    # One impression allows 2 × 1 + 1 clicks; the other 17 are quarantined, not summed.
    assert (totals.impressions, totals.clicks, totals.orders, totals.revenue) == (1, 3, 0, 0.0)
    assert QuarantinedEvent.objects.filter(reason="clicks_over_impressions").count() == 17
    stats = IngestStats.objects.get(write_key=key_obj, experiment=running_experiment)
    assert (stats.queued, stats.stored, stats.quarantined, stats.duplicates, stats.rejected) == (21, 4, 17, 0, 20)

    # Orders at a plausible price but without clicks, and a burst faster than a person.
    orders = [
        {"event_id": f"p{i}", "type": "order", "experiment": exp, "unit": "nobody", "ts": _ts(4), "revenue": 79.0}
        for i in range(3)
    ]
    burst = [
        {"event_id": f"b{i}", "type": "impression", "experiment": exp, "unit": "bot", "ts": _ts(3)} for i in range(15)
    ]
    assert _post_events(orders + burst, key).json()["accepted"] == 18
    assert not UnitTotals.objects.filter(unit="nobody").exists()
    assert QuarantinedEvent.objects.filter(reason="order_without_click").count() == 3
    assert UnitTotals.objects.get(unit="bot").impressions == 10
    assert QuarantinedEvent.objects.filter(reason="burst").count() == 5
    # A retried quarantined event is a duplicate, not a second quarantine nor a stored event.
    assert _post_events(orders[:1], key).status_code == 202
    assert QuarantinedEvent.objects.filter(event_id="p0").count() == 1 and not Event.objects.filter(event_id="p0")

    # The report's data-quality panel counts what was kept out of the totals.
    from analytics.services import report_build

    quality = report_build(experiment=running_experiment, backfill="never").data_quality
    assert (quality.quarantined_events, quality.quarantined_units) == (25, 3)
    assert quality.quarantined_by_reason == {"burst": 5, "clicks_over_impressions": 17, "order_without_click": 3}


def test_case1_key_scopes_experiments_and_origins(running_experiment, make_experiment, product):
    key_obj, key = write_key_create(name="scoped shop")
    key_obj.allowed_origins = "https://shop.example\nhttps://www.shop.example/"
    key_obj.save()
    other = make_experiment("other-exp")  # a draft: only the scope matters here
    key_obj.experiments.add(other)
    event = {"event_id": "s1", "type": "impression", "experiment": RUNNING_KEY, "unit": "u1", "ts": _ts()}
    refused = _post_events([event], key, HTTP_ORIGIN="https://shop.example").json()
    assert refused["accepted"] == 0
    assert refused["rejected"][0]["errors"] == {
        "experiment": f"this write key may not post events for experiment {RUNNING_KEY!r}"
    }
    key_obj.experiments.add(running_experiment)
    from ingest.writekeys import write_key_cache_clear

    write_key_cache_clear()
    assert _post_events([event], key, HTTP_ORIGIN="https://www.shop.example").json()["accepted"] == 1
    elsewhere = _post_events([event], key, HTTP_ORIGIN="https://evil.example")
    assert elsewhere.status_code == 403 and elsewhere.json()["fields"] == {"origin": "not allowed for this key"}
    assert _post_events([event], key, HTTP_ORIGIN="null").status_code == 403
    assert _post_events([{**event, "event_id": "s2"}], key).status_code == 202  # server to server: no Origin


# --- 2. Anonymous 500s on POST /api/v1/events and on authenticated endpoints -------------------------------------


HOSTILE_BODIES = {
    "deep nesting": "[" * 1100 + "]" * 1100,
    "deep object nesting": '{"a":' * 5000 + "1" + "}" * 5000,
    "unclosed nesting": "[" * 100_000,
    "4301-digit integer": '{"x":1' + "0" * 4301,
    "huge float": '{"events": [], "x": 1e400}',
    "NaN": '{"events": [NaN]}',
    "huge string": '{"events": [], "x": "' + "a" * 200_000 + '"}',
    "not UTF-8": b'{"events": ["\xff\xfe"]}',
}


@pytest.mark.parametrize("name", list(HOSTILE_BODIES))
def test_case2_hostile_json_is_a_400_with_field_and_reason(name, running_experiment, write_key, settings):
    settings.DEBUG = True  # the debug page was 116 KB with the sender's key: no page at all now
    body = HOSTILE_BODIES[name]
    for extra in ({}, {"HTTP_AUTHORIZATION": f"Bearer {write_key[1]}"}):
        response = _raw(body, **extra)
        assert response.status_code == 400, (name, response.status_code, response.content[:200])
        data = response.json()
        assert data["error"] and data["fields"] == {"body": data["error"]}


def test_case2_huge_revenue_literal_is_refused_by_field(running_experiment, write_key):
    event = {"event_id": "r1", "type": "order", "experiment": RUNNING_KEY, "unit": "u", "ts": _ts()}
    body = json.dumps({"events": [event]}).replace('"ts"', '"revenue": 1' + "0" * 400 + ', "ts"')
    response = _raw(body, HTTP_AUTHORIZATION=f"Bearer {write_key[1]}")
    assert response.status_code == 400 and response.json()["fields"] == {"body": "a number has more than 40 characters"}
    # Within the parser's limits but not a float: refused by field, never an OverflowError.
    body = json.dumps({"events": [event]}).replace('"ts"', '"revenue": ' + "9" * 18 + ', "ts"')
    data = _raw(body, HTTP_AUTHORIZATION=f"Bearer {write_key[1]}").json()
    assert data["accepted"] == 0 and data["rejected"][0]["errors"] == {"revenue": "must be at most 1,000,000,000"}


@pytest.mark.parametrize("name", ["deep nesting", "4301-digit integer", "huge float", "NaN", "huge string"])
def test_case2_authenticated_endpoints_answer_400_not_500(name, running_experiment, marketer_token, settings):
    settings.DEBUG = True
    auth = {"HTTP_AUTHORIZATION": f"Token {marketer_token}"}
    for method, url in (("patch", f"/api/v1/experiments/{RUNNING_KEY}"), ("post", "/api/v1/experiments")):
        response = getattr(Client(), method)(url, HOSTILE_BODIES[name], content_type="application/json", **auth)
        assert response.status_code == 400, (name, url, response.content[:200])
        assert response.json()["fields"] == {"body": response.json()["error"]}


def test_case2_unexpected_error_is_a_json_500_without_the_request(running_experiment, write_key, settings, monkeypatch):
    settings.DEBUG = True

    def boom(**kwargs):
        raise RuntimeError("unexpected")

    monkeypatch.setattr("ingest.api.events_accept", boom)
    event = {"event_id": "x", "type": "impression", "experiment": RUNNING_KEY, "unit": "u", "ts": _ts()}
    response = _post_events([event], write_key[1])
    assert response.status_code == 500 and response.json() == {"error": "internal error"}
    assert write_key[1].encode() not in response.content


# --- 3. Admin login: throttled and locked out --------------------------------------------------------------------


def _login(username: str, password: str, ip: str = "10.0.0.1"):
    return Client(REMOTE_ADDR=ip).post(
        "/admin/login/?next=/admin/", {"username": username, "password": password, "next": "/admin/"}
    )


def test_case3_admin_login_locks_out_per_user_and_per_ip_and_axes_reset_unlocks(admin_user, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login("root", "wrong").status_code == 200  # the form again, with its error
    assert _login("root", "wrong").status_code == 429  # the limit-th failure locks
    locked = _login("root", "pw-root", ip="10.0.0.2")  # right password, other address: the user is locked
    assert locked.status_code == 429
    call_command("axes_reset_username", "root")
    assert _login("root", "pw-root", ip="10.0.0.2").status_code == 302

    for i in range(settings.AXES_FAILURE_LIMIT):  # one address trying many users
        _login(f"guess{i}", "wrong", ip="10.9.9.9")
    assert _login("root", "pw-root", ip="10.9.9.9").status_code == 429
    assert _login("root", "pw-root", ip="10.0.0.3").status_code == 302
    call_command("axes_reset")
    assert _login("root", "pw-root", ip="10.9.9.9").status_code == 302


# --- 4. Ingestion rate limit: on by default, shared, per key and per IP; empty batches queue nothing -------------


def test_case4_rate_limits_are_on_by_default():
    from abplatform import settings as defaults

    assert defaults.INGEST_RATE_LIMIT_PER_MINUTE == 6000
    assert defaults.INGEST_RATE_LIMIT_PER_IP_PER_MINUTE == 600


def test_case4_key_limit_is_counted_in_the_database_across_processes(running_experiment, write_key, settings):
    key_obj, key = write_key
    settings.INGEST_RATE_LIMIT_PER_MINUTE = 3
    event = {"event_id": "q", "type": "impression", "experiment": RUNNING_KEY, "unit": "u", "ts": _ts()}
    assert [_post_events([event], key).status_code for _ in range(3)] == [202, 202, 202]
    # Another web process shares nothing in memory with this one: the count lives in the database.
    assert RateLimitWindow.objects.get(bucket=f"key:{key_obj.pk}").count == 3
    limited = _post_events([event], key)
    assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1
    key_obj.rate_limit_per_minute = 0  # the key's own limit wins over the default (0 = unlimited)
    key_obj.save()
    from ingest.writekeys import write_key_cache_clear

    write_key_cache_clear()
    assert _post_events([event], key).status_code == 202


def test_case4_ip_limit_applies_before_the_key_is_checked(running_experiment, settings):
    settings.INGEST_RATE_LIMIT_PER_IP_PER_MINUTE = 2
    codes = [_raw("{}", REMOTE_ADDR="192.0.2.7").status_code for _ in range(3)]
    assert codes == [401, 401, 429]
    assert _raw("{}", REMOTE_ADDR="192.0.2.8").status_code == 401
    settings.TRUSTED_PROXY_COUNT = 1  # behind one proxy: the address it saw the client at
    forwarded = {"REMOTE_ADDR": "10.1.1.1", "HTTP_X_FORWARDED_FOR": "spoofed, 192.0.2.7"}
    assert _raw("{}", **forwarded).status_code == 429


def test_case4_a_batch_without_valid_events_queues_nothing(running_experiment, write_key, monkeypatch):
    queued = []
    monkeypatch.setattr(events_ingest, "apply_async", lambda *a, **k: queued.append(k))
    bad = [{"event_id": "z", "type": "nope", "experiment": RUNNING_KEY, "unit": "u", "ts": _ts()}] * 3
    response = _post_events(bad, write_key[1])
    assert response.status_code == 202 and response.json()["accepted"] == 0
    assert queued == []
    assert IngestStats.objects.get(write_key=write_key[0], experiment=running_experiment).rejected == 3


# --- 5. Drafts are not public ------------------------------------------------------------------------------------


def test_case5_drafts_are_404_on_every_storefront_endpoint(make_experiment, running_experiment, write_key, settings):
    draft = make_experiment("secret-draft", approved=False)
    client = Client()
    assert client.get(f"/api/v1/experiments/{draft.key}/config").status_code == 404
    assert client.get("/api/v1/assign", {"experiment": draft.key, "unit": "u1"}).status_code == 404
    settings.DEBUG = True
    page = client.get("/demo/store/", {"experiment": draft.key})
    assert page.status_code == 404
    secret = arm_copy(draft.variants.get(key="llm-l060")).copy
    assert secret.encode() not in page.content
    event = {"event_id": "d", "type": "impression", "experiment": draft.key, "unit": "u", "ts": _ts()}
    assert _post_events([event], write_key[1]).json()["accepted"] == 0
    config = client.get(f"/api/v1/experiments/{RUNNING_KEY}/config").json()
    assert all(v["copy"] for v in config["variations"])  # a running experiment: all copy approved


# --- 6. No silent edits; the analysis plan is frozen once started ------------------------------------------------


@pytest.mark.parametrize(("field", "value"), [("alpha", 0.1), ("primary_metric", "cvr"), ("correction", "bh")])
def test_case6_analysis_plan_is_frozen_once_started_and_after_stop(field, value, running_experiment, marketer_token):
    auth = {"HTTP_AUTHORIZATION": f"Token {marketer_token}"}
    url = f"/api/v1/experiments/{RUNNING_KEY}"
    for _ in ("running", "stopped"):
        response = Client().patch(url, json.dumps({field: value}), content_type="application/json", **auth)
        assert response.status_code == 409, response.content
        assert field in response.json()["error"] and "analysis plan" in response.json()["error"]
        Client().post(f"{url}/stop", **auth)
    experiment = Experiment.objects.get(key=RUNNING_KEY)
    assert getattr(experiment, field) != value


def test_case6_every_change_is_recorded_with_who_when_old_and_new(make_experiment, marketer, marketer_token):
    experiment = make_experiment("audited")
    auth = {"HTTP_AUTHORIZATION": f"Token {marketer_token}"}
    url = f"/api/v1/experiments/{experiment.key}"
    body = {"alpha": 0.1, "primary_metric": "cvr", "name": "Renamed"}
    assert Client().patch(url, json.dumps(body), content_type="application/json", **auth).status_code == 200
    Client().post(f"{url}/start", **auth)
    history = Client().get(url, **auth).json()["history"]
    assert [h["action"] for h in history] == ["Created", "Changed", "Started"]
    assert all(h["user"] == "mia" and h["at"] for h in history)
    assert history[1]["changes"] == {
        "alpha": {"old": 0.05, "new": 0.1},
        "primary_metric": {"old": "ctr", "new": "cvr"},
        "name": {"old": "Copy test audited", "new": "Renamed"},
    }
    # The admin shows the same, on the experiment's page; a command's change has the system user.
    admin = Client()
    admin.force_login(marketer)
    page = admin.get(f"/admin/experiments/experiment/{experiment.pk}/change/").content.decode()
    assert "Changes (who, when, old → new)" in page and "0.05 → 0.1" in page
    from experiments import services

    services.experiment_update(experiment=experiment, data={"hypothesis": "from a command"})
    assert experiment_history(experiment)[-1]["user"] == "system"


def test_case6_admin_edit_is_recorded_and_alpha_is_read_only_after_start(running_experiment, marketer):
    admin = Client()
    admin.force_login(marketer)
    page = admin.get(f"/admin/experiments/experiment/{running_experiment.pk}/change/").content.decode()
    assert 'name="alpha"' not in page and 'name="primary_metric"' not in page and 'name="correction"' not in page


# --- 7. Write keys are for admins; deleting is revoking; the demo key only in development -------------------------


def test_case7_marketers_cannot_manage_write_keys_and_nobody_deletes_one(running_experiment, marketer, admin_user):
    key_obj, key = write_key_create(name="shop")
    _post_events([{"event_id": "k", "type": "impression", "experiment": RUNNING_KEY, "unit": "u", "ts": _ts()}], key)
    stats_before = IngestStats.objects.filter(write_key=key_obj).count()
    assert stats_before == 1
    as_marketer = Client()
    as_marketer.force_login(marketer)
    assert as_marketer.get("/admin/ingest/writekey/").status_code == 200  # may read
    assert as_marketer.get("/admin/ingest/writekey/add/").status_code == 403
    as_marketer.post("/admin/ingest/writekey/", {"action": "revoke", "_selected_action": [key_obj.pk]})
    assert WriteKey.objects.get(pk=key_obj.pk).revoked_at is None
    as_admin = Client()
    as_admin.force_login(admin_user)
    assert as_admin.get(f"/admin/ingest/writekey/{key_obj.pk}/delete/").status_code == 403
    as_admin.post("/admin/ingest/writekey/", {"action": "revoke", "_selected_action": [key_obj.pk]})
    assert WriteKey.objects.get(pk=key_obj.pk).revoked_at is not None
    assert IngestStats.objects.filter(write_key=key_obj).count() == stats_before  # kept
    other, clear = write_key_create(name="cli shop")
    call_command("revoke_write_key", clear)
    assert WriteKey.objects.get(pk=other.pk).revoked_at is not None
    from django.contrib.auth.models import Group

    marketer_perms = set(Group.objects.get(name="Marketer").permissions.values_list("codename", flat=True))
    assert "view_writekey" in marketer_perms
    assert not {"add_writekey", "change_writekey", "delete_writekey"} & marketer_perms


def test_case7_demo_key_is_shown_only_in_development(running_experiment, analyst, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    _, clear = write_key_create(name="demo")
    (tmp_path / "demo_write_key").write_text(clear)
    staff = Client()
    staff.force_login(analyst)
    settings.DEBUG = False
    assert clear not in staff.get("/demo/store/").content.decode()
    settings.DEBUG = True
    assert clear in staff.get("/demo/store/").content.decode()


# --- 8. Content-Security-Policy; production refuses unsafe configuration -----------------------------------------


def test_case8_every_html_page_has_a_csp_and_inline_scripts_carry_its_nonce(running_experiment, marketer, settings):
    settings.DEBUG = True
    client = Client()
    client.force_login(marketer)
    pages = ("/admin/", "/admin/login/", "/demo/store/", "/reports/", f"/reports/{RUNNING_KEY}/", "/api/docs/")
    for url in pages:
        response = (Client() if url == "/admin/login/" else client).get(url)
        assert response.status_code == 200, url
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
        assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0], url
        nonce = re.search(r"'nonce-([^']+)'", policy)
        html = response.content.decode()
        inline = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)([^>]*)>", html)
        for attributes in inline:
            assert nonce and f'nonce="{nonce.group(1)}"' in attributes, (url, attributes)
    docs_script = client.get("/api/docs/?script=")
    assert docs_script.status_code == 200 and "SwaggerUIBundle" in docs_script.content.decode()


def test_case8_a_revoked_key_and_unknown_keys_never_parse_the_body(write_key):
    write_key_revoke(write_key=write_key[0])
    response = _raw("[" * 1100, HTTP_AUTHORIZATION=f"Bearer {write_key[1]}")
    assert response.status_code == 401  # refused before the body is even parsed


def test_case8_roles_of_outsiders_unchanged(db):
    outsider = _user("eve")
    client = Client()
    client.force_login(outsider)
    assert client.get("/admin/ingest/writekey/").status_code == 302


def test_case2_every_operation_with_a_body_survives_hostile_json(running_experiment, marketer_token, write_key):
    """Every operation of the schema that takes a body, with each hostile body: never a 5xx, and a
    refusal of the body is a 400 naming it (what the schemathesis fuzz cannot generate)."""
    auth = {"HTTP_AUTHORIZATION": f"Token {marketer_token}"}
    schema = Client().get("/api/schema/", {"format": "json"}, **auth).json()
    operations = [
        (method, path)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "requestBody" in operation
    ]
    assert ("post", "/api/v1/events") in operations and ("patch", "/api/v1/experiments/{key}") in operations
    for method, path in operations:
        url = path.replace("{key}", RUNNING_KEY).replace("{job_id}", "1")
        headers = {"HTTP_AUTHORIZATION": f"Bearer {write_key[1]}"} if url.endswith("/events") else auth
        for name, body in HOSTILE_BODIES.items():
            response = Client().generic(method.upper(), url, body, content_type="application/json", **headers)
            assert response.status_code < 500, (method, url, name, response.content[:200])
            if response.status_code == 400:
                assert response.json()["fields"] == {"body": response.json()["error"]}, (method, url, name)
