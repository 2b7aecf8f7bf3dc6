"""Permission matrix: every role × every page, action and API that exists; only what it allows succeeds.

One row per action; `allowed` lists the roles for which it must succeed, and it must fail for
every other role, with no side effect. Roles:

    anonymous  no session, no token
    outsider   a logged-in user in no group (not staff)
    analyst    group Analyst: reads experiments, catalog, write keys and stats; changes nothing
    marketer   group Marketer: edits catalog, experiments, copy, write keys; starts/stops
    admin      superuser: everything, including users

API rows authenticate with a DRF token (`Authorization: Token …`); admin and web rows (the
report pages, the API docs page) with a session; page rows (storefront) send no credentials.
To extend the matrix, add rows to ACTIONS: a URL, the roles allowed, and an `effect` that tells
whether the action really happened.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from catalog.models import Category, Product
from experiments.models import Experiment, VariantCopy
from generator.models import ConversionPredictor, GenerationJob
from ingest.models import Event, WriteKey
from tests.conftest import _user, variant_rows

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "outsider", "analyst", "marketer", "admin")
EVERYONE = frozenset(ROLES)
READERS = frozenset({"analyst", "marketer", "admin"})
EDITORS = frozenset({"marketer", "admin"})
ADMIN_ONLY = frozenset({"admin"})
NOBODY: frozenset[str] = frozenset()


@dataclass
class World:
    running: Experiment
    draft: Experiment
    write_key: WriteKey
    clear_key: str
    users: dict[str, User | None]
    job: GenerationJob
    predictor: ConversionPredictor
    category: Category


@dataclass(frozen=True)
class Action:
    name: str
    method: str
    url: str  # formatted with World attributes: {draft.key}, {running.pk}, {write_key.pk}, …
    allowed: frozenset[str]
    surface: str = "api"  # api: token auth; admin/web: session; page: no credentials (storefront)
    body: Callable[[World], dict] | dict | None = None
    json_body: bool = True
    headers: Callable[[World], dict] | None = None
    # Did the action happen? Checked after the request: true for allowed roles, false otherwise.
    effect: Callable[[World, object], bool] | None = None
    ok: tuple[int, ...] = (200,)
    tags: tuple[str, ...] = field(default=())


def _status_is(experiment: str, status: str) -> Callable[[World, object], bool]:
    """Effect: the World's `experiment` ("draft" or "running") now has `status`."""
    return lambda w, r: Experiment.objects.get(pk=getattr(w, experiment).pk).status == status


def _event_stored(world: World, response) -> bool:
    return Event.objects.filter(event_id="matrix-1").exists()


def _write_key_gone(world: World, response) -> bool:
    return not WriteKey.objects.filter(pk=world.write_key.pk).exists()


def _create_body(world: World) -> dict:
    return {
        "key": "matrix-new",
        "name": "Matrix",
        "product": world.draft.product.sku,
        "variants": [
            {"key": "control", "is_control": True, "copy": "Plain copy.", "weight": 1, "approved": True},
            {"key": "b", "copy": "Bolder copy. Shop now.", "weight": 1, "approved": True},
        ],
    }


def _approve_body(world: World) -> dict:
    rows = variant_rows(approved=True)
    for row in rows:
        row["lambda"] = row.pop("lambda_value", None)
    return {"variants": rows}


def _events_body(world: World) -> dict:
    ts = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    event = {"event_id": "matrix-1", "type": "impression", "experiment": world.running.key, "unit": "u1", "ts": ts}
    return {"events": [event]}


def _bearer(world: World) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {world.clear_key}"}


# The write key form's read-only inline of ingest stats still posts a management form.
_NO_INLINE_ROWS = {"stats-TOTAL_FORMS": "0", "stats-INITIAL_FORMS": "0"}


def _has_save_button(world: World, response) -> bool:
    return b'name="_save"' in response.content


def _lifecycle(verb: str, experiment: str, status: str, tags: tuple[str, ...] = ()) -> Action:
    """API: POST /experiments/KEY/<verb> on the World's `experiment`, which must then be `status`."""
    return Action(
        f"{verb} an experiment",
        "POST",
        f"/api/v1/experiments/{{{experiment}.key}}/{verb}",
        EDITORS,
        effect=_status_is(experiment, status),
        tags=tags,
    )


def _api_write(
    name: str,
    method: str,
    url: str,
    body: Callable[[World], dict] | dict,
    effect: Callable[[World, object], bool],
    ok: tuple[int, ...] = (200,),
) -> Action:
    """A change made through the management API with a token: Marketers and admins only."""
    return Action(name, method, url, EDITORS, body=body, effect=effect, ok=ok)


def _form_post(
    name: str,
    url: str,
    allowed: frozenset[str],
    body: Callable[[World], dict] | dict,
    effect: Callable[[World, object], bool],
    ok: tuple[int, ...] = (302,),
    surface: str = "admin",
    tags: tuple[str, ...] = (),
) -> Action:
    """A form posted with a session, as the admin's (or the report pages') browser posts it."""
    return Action(
        name, "POST", url, allowed, surface=surface, json_body=False, body=body, effect=effect, ok=ok, tags=tags
    )


def _admin_action(
    name: str,
    changelist: str,
    allowed: frozenset[str],
    action: str,
    selected: str,
    effect: Callable[[World, object], bool],
    ok: tuple[int, ...] = (200, 302),
    extra: dict | None = None,
    tags: tuple[str, ...] = (),
) -> Action:
    """An admin changelist action run on one row: the World attribute named `selected`."""

    def body(w: World) -> dict:
        return {"action": action, "_selected_action": [getattr(w, selected).pk], **(extra or {})}

    return _form_post(name, changelist, allowed, body, effect, ok=ok, tags=tags)


def _admin_page(name: str, url: str, allowed: frozenset[str] = READERS, **kwargs) -> Action:
    return Action(name, "GET", url, allowed, surface="admin", **kwargs)


ACTIONS: list[Action] = [
    # --- storefront endpoints: public ---
    Action("assign", "GET", "/api/v1/assign?experiment={running.key}&unit=u1", EVERYONE, surface="page"),
    Action("experiment config", "GET", "/api/v1/experiments/{running.key}/config", EVERYONE, surface="page"),
    Action("copy map", "GET", "/api/v1/experiments/{running.key}/copy.json", EVERYONE, surface="page"),
    Action("copy for products", "GET", "/api/v1/copy?unit=u1&products=ELEC-T01", EVERYONE, surface="page"),
    Action("tracker.js", "GET", "/tracker.js", EVERYONE, surface="page"),
    Action(
        "post events with a write key",
        "POST",
        "/api/v1/events",
        EVERYONE,
        body=_events_body,
        headers=_bearer,
        effect=_event_stored,
        ok=(202,),
    ),
    # A user's session or token never stands in for a write key, not even an admin's.
    Action(
        "post events with a user token instead of a write key",
        "POST",
        "/api/v1/events",
        NOBODY,
        body=_events_body,
        effect=_event_stored,
        ok=(202,),
    ),
    # --- API schema and docs: they describe the management API, so for the roles only ---
    Action("API schema", "GET", "/api/schema/", READERS),
    Action("API docs page", "GET", "/api/docs/", READERS, surface="web"),
    # --- experiments API ---
    Action("list experiments", "GET", "/api/v1/experiments", READERS),
    Action("read an experiment", "GET", "/api/v1/experiments/{draft.key}", READERS),
    _api_write(
        "create an experiment",
        "POST",
        "/api/v1/experiments",
        body=_create_body,
        effect=lambda w, r: Experiment.objects.filter(key="matrix-new").exists(),
        ok=(201,),
    ),
    _api_write(
        "edit an experiment",
        "PATCH",
        "/api/v1/experiments/{draft.key}",
        body={"name": "Renamed by the matrix"},
        effect=lambda w, r: Experiment.objects.get(pk=w.draft.pk).name == "Renamed by the matrix",
    ),
    _api_write(
        "approve copy",
        "PATCH",
        "/api/v1/experiments/{draft.key}",
        body=_approve_body,
        effect=lambda w, r: (
            not VariantCopy.objects.filter(variant__experiment=w.draft)
            .exclude(status=VariantCopy.Status.APPROVED)
            .exists()
        ),
    ),
    Action("read an arm's copies", "GET", "/api/v1/experiments/{draft.key}/variants/llm-l040/copies", READERS),
    _api_write(
        "review an arm's copies",
        "PATCH",
        "/api/v1/experiments/{draft.key}/variants/llm-l040/copies",
        body=lambda w: {w.draft.product.sku: {"copy": "Thirty hours of battery life. Shop now.", "approved": False}},
        effect=lambda w, r: VariantCopy.objects.filter(
            variant__experiment=w.draft, variant__key="llm-l040", copy="Thirty hours of battery life. Shop now."
        ).exists(),
    ),
    _lifecycle("start", "draft", "running", tags=("approved",)),
    _lifecycle("pause", "running", "paused"),
    _lifecycle("stop", "running", "stopped"),
    # --- reports: pages and API; Analysts read, only Marketers and admins change a default λ ---
    Action("reports: experiment list", "GET", "/reports/", READERS, surface="web"),
    Action("reports: running experiment's report", "GET", "/reports/{running.key}/", READERS, surface="web"),
    Action("reports: draft experiment's report", "GET", "/reports/{draft.key}/", READERS, surface="web"),
    Action("reports: λ per category", "GET", "/reports/lambda/", READERS, surface="web"),
    _form_post(
        "reports: adopt a category's λ",
        "/reports/lambda/adopt",
        EDITORS,
        body=lambda w: {"category": w.category.pk, "lambda": "0.45"},
        effect=lambda w, r: Category.objects.get(pk=w.category.pk).recommended_lambda == 0.45,
        surface="web",
    ),
    # Library code and the pages' stylesheet, no data: public so that they cache like static files.
    Action("reports: plotly.js", "GET", "/reports/plotly.js", EVERYONE, surface="page"),
    Action("reports: stylesheet", "GET", "/reports/assets/reports.css", EVERYONE, surface="page"),
    Action("API: experiment report", "GET", "/api/v1/experiments/{running.key}/report", READERS),
    Action("API: experiment report as CSV", "GET", "/api/v1/experiments/{running.key}/report.csv", READERS),
    # --- generator: Marketers generate copy; Analysts read jobs and their scored candidates ---
    _api_write(
        "API: generate LLM copy",
        "POST",
        "/api/v1/experiments/{draft.key}/generate",
        body={"lambdas": [0.5], "candidates": 2, "top_k": 1, "seed": 7},
        effect=lambda w, r: GenerationJob.objects.filter(experiment=w.draft, seed=7).exists(),
        ok=(202,),
    ),
    Action("API: generation job with its candidates", "GET", "/api/v1/generation-jobs/{job.pk}", READERS),
    _admin_action(
        "admin: Generate LLM variants action",
        "/admin/experiments/experiment/",
        EDITORS,
        "generate_llm_variants",
        "draft",
        effect=lambda w, r: GenerationJob.objects.filter(experiment=w.draft).exclude(pk=w.job.pk).exists(),
        ok=(302,),
        extra={"apply": "1", "lambdas": "0.5", "candidates": "2", "top_k": "1"},
    ),
    _admin_action(
        "admin: Generate LLM variants form",
        "/admin/experiments/experiment/",
        EDITORS,
        "generate_llm_variants",
        "draft",
        effect=lambda w, r: b'name="apply"' in r.content,
        ok=(200,),
    ),
    _admin_page("admin: generation jobs", "/admin/generator/generationjob/"),
    _admin_page("admin: generation job with its candidates", "/admin/generator/generationjob/{job.pk}/change/"),
    _admin_page("admin: predictor versions", "/admin/generator/conversionpredictor/"),
    _admin_action(
        "admin: activate a predictor version",
        "/admin/generator/conversionpredictor/",
        EDITORS,
        "activate",
        "predictor",
        effect=lambda w, r: ConversionPredictor.objects.get(pk=w.predictor.pk).active,
    ),
    # Fine-tuned adapters: rows for their actions belong with the fine-tuning work, as it settles.
    _admin_page("admin: adapters", "/admin/generator/adapter/"),
    _admin_page("admin: add adapter page", "/admin/generator/adapter/add/", EDITORS),
    # --- admin pages ---
    _admin_page("admin index", "/admin/"),
    _admin_page("admin: experiment list", "/admin/experiments/experiment/"),
    _admin_page("admin: product list", "/admin/catalog/product/"),
    _admin_page("admin: brand guidelines", "/admin/catalog/brandguideline/"),
    _admin_page("admin: ingest stats", "/admin/ingest/ingeststats/"),
    _admin_page(
        "admin: experiment change form is editable",
        "/admin/experiments/experiment/{draft.pk}/change/",
        EDITORS,
        effect=_has_save_button,
    ),
    _admin_page("admin: add experiment page", "/admin/experiments/experiment/add/", EDITORS),
    _admin_page("admin: add product page", "/admin/catalog/product/add/", EDITORS),
    _admin_action(
        "admin: start action",
        "/admin/experiments/experiment/",
        EDITORS,
        "experiment_start",
        "draft",
        effect=_status_is("draft", "running"),
        tags=("approved",),
    ),
    _admin_action(
        "admin: stop action",
        "/admin/experiments/experiment/",
        EDITORS,
        "experiment_stop",
        "running",
        effect=_status_is("running", "stopped"),
    ),
    _admin_page("admin: users", "/admin/auth/user/", ADMIN_ONLY),
    _admin_page("admin: groups", "/admin/auth/group/", ADMIN_ONLY),
    _admin_page("admin: API tokens", "/admin/authtoken/tokenproxy/", ADMIN_ONLY),
    # --- write keys (admin) ---
    _admin_page("admin: write key list", "/admin/ingest/writekey/"),
    # Write keys are credentials: admins alone create, scope and revoke them (issue case 7);
    # nobody deletes one (revoking keeps its record and ingest stats).
    _form_post(
        "admin: create a write key",
        "/admin/ingest/writekey/add/",
        ADMIN_ONLY,
        body={"name": "matrix shop", **_NO_INLINE_ROWS},
        effect=lambda w, r: WriteKey.objects.filter(name="matrix shop").exists(),
    ),
    _admin_action(
        "admin: revoke a write key",
        "/admin/ingest/writekey/",
        ADMIN_ONLY,
        "revoke",
        "write_key",
        effect=lambda w, r: WriteKey.objects.get(pk=w.write_key.pk).revoked_at is not None,
    ),
    _form_post(
        "admin: rename a write key",
        "/admin/ingest/writekey/{write_key.pk}/change/",
        ADMIN_ONLY,
        body={"name": "renamed shop", **_NO_INLINE_ROWS},
        effect=lambda w, r: WriteKey.objects.get(pk=w.write_key.pk).name == "renamed shop",
    ),
    _form_post(
        "admin: delete a write key",
        "/admin/ingest/writekey/{write_key.pk}/delete/",
        NOBODY,
        body={"post": "yes"},
        effect=_write_key_gone,
    ),
    _admin_action(
        "admin: bulk-delete write keys",
        "/admin/ingest/writekey/",
        NOBODY,
        "delete_selected",
        "write_key",
        effect=_write_key_gone,
        ok=(302,),
        extra={"post": "yes"},
    ),
    _admin_page("admin: quarantined events", "/admin/ingest/quarantinedevent/"),
    _admin_page("admin: unit attributes", "/admin/ingest/unitattributes/"),
    _admin_page("admin: pending batches (the ingest outbox)", "/admin/ingest/pendingbatch/"),
]


@pytest.fixture
def world(make_experiment, product) -> World:
    from ingest.writekeys import write_key_create

    other = Product.objects.create(
        sku="ELEC-T02",
        title="Voltora Dock",
        brand="Voltora",
        category=Category.objects.get(name="Electronics"),
        price=9,
    )
    running = make_experiment("matrix-running", start=True, product=other)
    Experiment.objects.filter(pk=running.pk).update(started_at=timezone.now() - timedelta(days=1))
    running.refresh_from_db()
    draft = make_experiment("matrix-draft", approved=False)
    write_key, clear = write_key_create(name="matrix storefront")
    users = {
        "anonymous": None,
        "outsider": _user("olly"),
        "analyst": _user("ann", "Analyst"),
        "marketer": User.objects.get(username="mia"),  # the owner make_experiment created
        "admin": _user("root", superuser=True),
    }
    job = GenerationJob.objects.create(experiment=draft, lambdas=[0.2, 0.4], seed=3, status="succeeded", progress=1)
    predictor = ConversionPredictor.objects.create(
        version=900, target="cvr", coefficients={"intercept": -3.0}, active=False
    )
    return World(
        running=running,
        draft=draft,
        write_key=write_key,
        clear_key=clear,
        users=users,
        job=job,
        predictor=predictor,
        category=draft.product.category,
    )


def _request(action: Action, world: World, role: str):
    user = world.users[role]
    client = Client()
    extra: dict = {}
    if action.surface in ("admin", "web") and user is not None:
        client.force_login(user)
    elif action.surface == "api" and user is not None:
        extra["HTTP_AUTHORIZATION"] = f"Token {Token.objects.get_or_create(user=user)[0].key}"
    if action.headers:
        extra.update(action.headers(world))
    url = action.url.format(**vars(world))
    body = action.body(world) if callable(action.body) else action.body
    if action.method == "GET":
        return client.get(url, **extra)
    if action.json_body:
        payload = json.dumps(body or {})
        return client.generic(action.method, url, payload, content_type="application/json", **extra)
    return client.generic(
        action.method, url, _urlencode(body or {}), content_type="application/x-www-form-urlencoded", **extra
    )


def _urlencode(data: dict) -> str:
    from urllib.parse import urlencode

    return urlencode(data, doseq=True)


def _denied(action: Action, role: str, response) -> bool:
    if action.surface == "admin":
        # Django's admin sends the anonymous and non-staff to its login page and answers 403 to
        # staff without the permission (or shows the list without running the action).
        if role in ("anonymous", "outsider"):
            return response.status_code == 302 and "/admin/login/" in response["Location"]
        return response.status_code in (200, 302, 403)
    if action.surface == "web":
        # Pages for the roles: the anonymous go to the login page, users without a role get 403.
        if role == "anonymous":
            return response.status_code == 302 and "/admin/login/" in response["Location"]
        return response.status_code == 403
    return response.status_code in (401, 403)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ACTIONS, ids=[a.name for a in ACTIONS])
def test_permission_matrix(action: Action, role: str, world: World):
    if "approved" in action.tags:
        VariantCopy.objects.filter(variant__experiment=world.draft).update(
            status=VariantCopy.Status.APPROVED, reviewed_at=timezone.now()
        )
    response = _request(action, world, role)
    assert response.status_code < 500, response.content[:500]
    happened = action.effect(world, response) if action.effect else None
    if role in action.allowed:
        assert response.status_code in action.ok, (response.status_code, response.content[:500])
        assert happened is not False, f"{action.name}: answered {response.status_code} but did not happen"
    else:
        assert _denied(action, role, response), (response.status_code, response.content[:300])
        if action.surface not in ("admin", "web"):  # those deny with a redirect to the login page
            assert response.status_code not in action.ok
        assert not happened, f"{action.name}: happened for {role}"
        if action.surface == "api" and response.status_code in (401, 403):
            assert "error" in response.json()  # the API's error shape, not an HTML page


def test_matrix_covers_every_route_that_exists():
    """A new API route or admin model must get a row (or be listed here as covered elsewhere)."""
    from django.contrib import admin
    from django.urls import get_resolver

    urls = {action.url.split("?")[0] for action in ACTIONS}
    patterns = {
        str(p.pattern) for module in ("experiments.urls", "ingest.urls") for p in get_resolver(module).url_patterns
    }
    expected_api = {
        "assign": "/api/v1/assign",
        "copy": "/api/v1/copy",
        "experiments/<slug:key>/copy.json": "/api/v1/experiments/{running.key}/copy.json",
        "experiments/<slug:key>/variants/<slug:variant>/copies": (
            "/api/v1/experiments/{draft.key}/variants/llm-l040/copies"
        ),
        "events": "/api/v1/events",
        "experiments": "/api/v1/experiments",
        "experiments/<slug:key>": "/api/v1/experiments/{draft.key}",
        "experiments/<slug:key>/config": "/api/v1/experiments/{running.key}/config",
        "experiments/<slug:key>/start": "/api/v1/experiments/{draft.key}/start",
        "experiments/<slug:key>/pause": "/api/v1/experiments/{running.key}/pause",
        "experiments/<slug:key>/stop": "/api/v1/experiments/{running.key}/stop",
    }
    assert patterns <= set(expected_api), f"experiments API routes without a matrix row: {patterns - set(expected_api)}"
    assert set(expected_api.values()) <= urls
    apps = ("catalog", "experiments", "ingest")
    registered = {
        f"{m._meta.app_label}/{m._meta.model_name}" for m in admin.site._registry if m._meta.app_label in apps
    }
    covered = {"/".join(a.url.split("/")[2:4]) for a in ACTIONS if a.url.split("/")[2:3] in ([app] for app in apps)}
    # Category has no role-specific behaviour beyond the model permissions exercised above.
    assert registered - covered <= {"catalog/category"}, registered - covered


def test_matrix_covers_every_generator_and_report_route():
    """The generator's and the reports' routes and admin models: each has a row too."""
    from django.contrib import admin
    from django.urls import get_resolver

    urls = {action.url.split("?")[0] for action in ACTIONS}
    expected = {
        "generator.urls": {
            "experiments/<slug:key>/generate": "/api/v1/experiments/{draft.key}/generate",
            "generation-jobs/<int:job_id>": "/api/v1/generation-jobs/{job.pk}",
        },
        "analytics.urls": {
            "experiments/<slug:key>/report": "/api/v1/experiments/{running.key}/report",
            "experiments/<slug:key>/report.csv": "/api/v1/experiments/{running.key}/report.csv",
        },
        "analytics.web_urls": {
            "": "/reports/",
            "plotly.js": "/reports/plotly.js",
            "assets/<str:name>": "/reports/assets/reports.css",
            "lambda/": "/reports/lambda/",
            "lambda/adopt": "/reports/lambda/adopt",
            "<slug:key>/": "/reports/{running.key}/",
        },
        "abplatform.urls": {"api/schema/": "/api/schema/", "api/docs/": "/api/docs/"},
    }
    for module, routes in expected.items():
        patterns = {str(p.pattern) for p in get_resolver(module).url_patterns}
        if module == "abplatform.urls":
            patterns = {p for p in patterns if p.startswith("api/") and p != "api/v1/"}
        assert patterns <= set(routes), f"{module}: routes without a matrix row: {patterns - set(routes)}"
        assert set(routes.values()) <= urls, set(routes.values()) - urls
    generator_models = {m._meta.model_name for m in admin.site._registry if m._meta.app_label == "generator"}
    covered = {a.url.split("/")[3] for a in ACTIONS if a.url.startswith("/admin/generator/")}
    assert generator_models <= covered, f"generator admin models without a matrix row: {generator_models - covered}"
