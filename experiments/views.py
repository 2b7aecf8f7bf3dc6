"""The storefront tracker script, served from the app folder with an ETag."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import condition, require_safe

TRACKER_PATH = Path(__file__).resolve().parent / "static" / "experiments" / "tracker.js"
# Short enough that a fix reaches storefronts within minutes, long enough to spare the web nodes.
TRACKER_MAX_AGE_SECONDS = 300


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
