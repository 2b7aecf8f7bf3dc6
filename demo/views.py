"""The demo storefront: a product page wired to tracker.js, for trying an experiment in a browser."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from experiments.models import Experiment, VariantCopy
from ingest.writekeys import demo_write_key_path, write_key_authenticate


def _demo_write_key(request: HttpRequest) -> tuple[str, str]:
    """(clear key, where it came from): the query string first, then the file the seed writes.

    The file's key is a live credential: it is put into the page only in development (DEBUG),
    never on a production site, not even for staff (an Analyst could post events with it)."""
    if key := request.GET.get("write_key", "").strip():
        return key, "the write_key query parameter"
    if not settings.DEBUG:
        return "", ""
    path = demo_write_key_path()
    try:
        return path.read_text(encoding="utf-8").strip(), str(path)
    except (FileNotFoundError, IsADirectoryError, UnicodeDecodeError):
        return "", ""


@require_safe
def demo_store(request: HttpRequest) -> HttpResponse:
    """A product page wired to the tracker, for trying an experiment end to end in a browser."""
    key = request.GET.get("experiment", "").strip()
    # Like the storefront API: running or paused experiments only; a draft's copy may be unapproved.
    experiments = Experiment.objects.prefetch_related("products__category").filter(
        status__in=(Experiment.Status.RUNNING, Experiment.Status.PAUSED)
    )
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
        return render(request, "demo/demo_store.html", context, status=404 if key else 200)

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
    control = VariantCopy.objects.filter(variant__experiment=experiment, variant__is_control=True, product=product)
    context["control_copy"] = next(iter(control.values_list("copy", flat=True)), product.current_copy)
    context["demo_config"] = {"price": float(product.price), "experiment": experiment.key}
    return render(request, "demo/demo_store.html", context)
