"""The demo storefront: a product page and a listing page wired to tracker.js, for trying an experiment in a
browser."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from catalog.models import Product
from experiments.models import Experiment, ExperimentProduct, VariantCopy
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
        "catalog": _running_catalogs().first(),
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
    if product is None:
        # A catalog experiment has no one product page: its products are on the listing.
        return redirect(f"{reverse('demo-listing')}?{request.GET.urlencode()}")
    context["product"] = product
    control = VariantCopy.objects.filter(variant__experiment=experiment, variant__is_control=True, product=product)
    context["control_copy"] = next(iter(control.values_list("copy", flat=True)), product.current_copy)
    context["demo_config"] = {"price": float(product.price), "experiment": experiment.key}
    return render(request, "demo/demo_store.html", context)


LISTING_MAX_PRODUCTS = 24  # one /api/v1/copy call takes up to 100 SKUs


def _write_key_context(request: HttpRequest) -> dict[str, str]:
    write_key, source = _demo_write_key(request)
    if not write_key:
        return {"write_key": "", "write_key_problem": "missing"}
    if write_key_authenticate(write_key) is None:
        return {"write_key": "", "write_key_problem": "invalid", "write_key_source": source}
    return {"write_key": write_key, "write_key_problem": ""}


def _running_catalogs() -> QuerySet[Experiment]:
    """Running experiments over more than one product, the oldest first: what a listing is for."""
    return (
        Experiment.objects.filter(status=Experiment.Status.RUNNING)
        .annotate(n_products=Count("products"))
        .filter(n_products__gt=1)
        .order_by("started_at", "pk")
    )


@require_safe
def demo_listing(request: HttpRequest) -> HttpResponse:
    """A listing of several products' cards: the browser asks /api/v1/copy once for all of them.

    `?experiment=KEY` lists that running or paused experiment's products; `?products=SKU1,SKU2` lists
    those SKUs (a product in no experiment shows its current copy); without either, the first
    running catalog experiment's products (the seeded demo's), else the first running experiment's."""
    key = request.GET.get("experiment", "").strip()
    skus = [s for s in dict.fromkeys(request.GET.get("products", "").split(",")) if s.strip()]
    active = Experiment.objects.filter(status__in=(Experiment.Status.RUNNING, Experiment.Status.PAUSED))
    experiment = None
    if key:
        experiment = active.filter(key=key).first()
    elif not skus:
        experiment = (
            _running_catalogs().first()
            or active.filter(status=Experiment.Status.RUNNING).order_by("started_at", "pk").first()
        )
    products = Product.objects.select_related("category").order_by("sku")
    if skus:
        products = products.filter(sku__in=skus[:LISTING_MAX_PRODUCTS])
    elif experiment is not None:
        products = products.filter(pk__in=ExperimentProduct.objects.filter(experiment=experiment).values("product_id"))
    else:
        products = products.none()
    context = {
        "requested_key": key,
        "experiment": experiment,
        "products": list(products[:LISTING_MAX_PRODUCTS]),
        **_write_key_context(request),
    }
    missing = bool(key and experiment is None)
    return render(request, "demo/listing.html", context, status=404 if missing else 200)
