"""Non-API pages of the experiments app: the storefront tracker script and a demo storefront."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.views.decorators.http import condition, require_safe

from experiments.models import Experiment
from experiments.writekeys import write_key_authenticate

TRACKER_PATH = Path(__file__).resolve().parent / "static" / "experiments" / "tracker.js"
# Short enough that a fix reaches storefronts within minutes, long enough to spare the web nodes.
TRACKER_MAX_AGE_SECONDS = 300
DEMO_WRITE_KEY_FILE = "demo_write_key"


@dataclass(frozen=True)
class _Script:
    mtime_ns: int
    body: bytes
    etag: str


_tracker: _Script | None = None


def _tracker_script() -> _Script:
    """tracker.js from the app folder, not STATIC_ROOT: it works without collectstatic and with
    DEBUG off. Read again only when the file changes."""
    global _tracker
    mtime_ns = TRACKER_PATH.stat().st_mtime_ns
    if _tracker is None or _tracker.mtime_ns != mtime_ns:
        body = TRACKER_PATH.read_bytes()
        _tracker = _Script(mtime_ns, body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
    return _tracker


@require_safe
@condition(etag_func=lambda request: _tracker_script().etag)
def tracker_js(request: HttpRequest) -> HttpResponse:
    script = _tracker_script()
    response = HttpResponse(script.body, content_type="application/javascript; charset=utf-8")
    patch_cache_control(response, public=True, max_age=TRACKER_MAX_AGE_SECONDS)
    # Storefronts on other origins embed it; CORS only matters for <script crossorigin> (SRI),
    # CORP for storefronts that enable cross-origin isolation.
    response["Access-Control-Allow-Origin"] = "*"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


def _demo_write_key(request: HttpRequest) -> tuple[str, str]:
    """(clear key, where it came from): the query string first, then the file the seed writes.

    The file's key is a live credential: it is put into the page only in development (DEBUG)
    or for staff, never for anonymous visitors of a production site."""
    if key := request.GET.get("write_key", "").strip():
        return key, "the write_key query parameter"
    if not (settings.DEBUG or request.user.is_staff):
        return "", ""
    path = settings.VAR_DIR / DEMO_WRITE_KEY_FILE
    try:
        return path.read_text(encoding="utf-8").strip(), str(path)
    except (FileNotFoundError, IsADirectoryError, UnicodeDecodeError):
        return "", ""


@require_safe
def demo_store(request: HttpRequest) -> HttpResponse:
    """A product page wired to the tracker, for trying an experiment end to end in a browser."""
    key = request.GET.get("experiment", "").strip()
    experiments = Experiment.objects.select_related("product__category")
    running = list(experiments.filter(status=Experiment.Status.RUNNING).order_by("started_at", "pk"))
    experiment = experiments.filter(key=key).first() if key else next(iter(running), None)
    context = {
        "requested_key": key,
        "experiment": experiment,
        "others": [e for e in running if e != experiment],
        "write_key": "",
        "write_key_problem": "",
    }
    if experiment is None:
        return render(request, "experiments/demo_store.html", context, status=404 if key else 200)

    write_key, source = _demo_write_key(request)
    if not write_key:
        context["write_key_problem"] = "missing"
    elif write_key_authenticate(write_key) is None:
        context["write_key_problem"] = "invalid"
        context["write_key_source"] = source
    else:
        context["write_key"] = write_key
    product = experiment.product
    context["product"] = product
    context["control_copy"] = next((v.copy for v in experiment.variants.all() if v.is_control), product.description)
    context["demo_config"] = {"price": float(product.price), "experiment": experiment.key}
    return render(request, "experiments/demo_store.html", context)
