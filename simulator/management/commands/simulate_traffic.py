"""Post simulated storefront traffic through the real HTTP API."""

from __future__ import annotations

import socket
import time
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError

from simulator.localserver import local_server
from simulator.storefront import StorefrontClient, StorefrontError
from simulator.traffic import DEFAULT_CTR, DEFAULT_CVR, ArmTruth, traffic_events

BATCH = 500


def parse_rates(text: str | None, default: float, option: str) -> tuple[float, dict[str, float]]:
    """`0.1` (every variant) or `control=0.09,llm-l060=0.11` (per variant, others get the default)."""
    if not text:
        return default, {}
    per_variant: dict[str, float] = {}
    fallback = default
    try:
        for part in text.split(","):
            if "=" in part:
                key, value = part.split("=", 1)
                per_variant[key.strip()] = float(value)
            else:
                fallback = float(part)
    except ValueError:
        raise CommandError(f"{option}: {text!r} is not a rate or a list like control=0.09,llm-l060=0.1") from None
    for value in (fallback, *per_variant.values()):
        if not 0 <= value <= 1:
            raise CommandError(f"{option}: rates must be between 0 and 1 (got {value})")
    return fallback, per_variant


def _listening(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 80), timeout=0.5):
            return True
    except OSError:
        return False


class Command(BaseCommand):
    help = (
        "Simulate visitors of a running experiment and post their events through the HTTP API, with true "
        "CTR/CVR per variant that you set. Without --url it uses http://127.0.0.1:8000 when a server "
        "listens there, else a temporary in-process server."
    )

    def add_arguments(self, parser):
        parser.add_argument("--experiment", required=True)
        parser.add_argument("--units", type=int, default=2000, help="visitors to simulate")
        parser.add_argument("--days", type=float, default=14, help="spread traffic over this many days up to now")
        parser.add_argument("--rate", type=float, default=0, help="max events posted per second (0: no limit)")
        parser.add_argument("--ctr", help=f"true CTR per impression (default {DEFAULT_CTR})")
        parser.add_argument("--cvr", help=f"true CVR per impression (default {DEFAULT_CVR})")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--model",
            choices=("rates", "text"),
            default="rates",
            help="rates: the --ctr/--cvr you set; text: a hidden per-category model of the copy's text "
            "(length, call to action, specificity, sentiment, weekday effects; simulator/textmodel.py)",
        )
        parser.add_argument("--text-seed", type=int, default=0, help="seed of the text model's per-copy noise")
        parser.add_argument("--no-weekday", action="store_true", help="text model without weekday effects")
        parser.add_argument("--url", help="base URL of a running Copylift server")
        parser.add_argument("--write-key", help="write key (default: var/demo_write_key, else a new key)")

    def handle(self, *args, **o):
        if o["units"] <= 0 or o["days"] <= 0 or o["rate"] < 0:
            raise CommandError("--units and --days must be positive, --rate not negative")
        ctr, ctr_by = parse_rates(o["ctr"], DEFAULT_CTR, "--ctr")
        cvr, cvr_by = parse_rates(o["cvr"], DEFAULT_CVR, "--cvr")
        try:
            ArmTruth(ctr=ctr, cvr=cvr)  # the defaults for every variant; checked before any request
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        write_key = o["write_key"] or self._write_key()
        url = o["url"] or "http://127.0.0.1:8000"
        server = nullcontext(url) if o["url"] or _listening(url) else local_server()
        with server as base_url:
            client = StorefrontClient(base_url, write_key)
            try:
                self._run(client, o, (ctr, ctr_by), (cvr, cvr_by))
            except StorefrontError as exc:
                raise CommandError(str(exc)) from None
            finally:
                client.close()

    def _write_key(self) -> str:
        from ingest.writekeys import demo_write_key_path, write_key_create

        path = demo_write_key_path()
        if path.exists():
            return path.read_text().strip()
        return write_key_create(name="simulate_traffic", simulated=True)[1]

    def _run(self, client: StorefrontClient, o: dict, ctr_spec, cvr_spec) -> None:
        allocation, config = client.allocation(o["experiment"])
        if not config["active"]:
            raise CommandError(f"experiment {o['experiment']!r} is {config['status']}; start it first")
        now = datetime.now(UTC)
        started = datetime.fromisoformat(config["started_at"])
        start = max(started, now - timedelta(days=o["days"]))
        if start > now - timedelta(days=o["days"]):
            self.stderr.write(f"note: the experiment started {started:%Y-%m-%d %H:%M}; traffic spans from then")
        history = (config.get("bandit") or {}).get("history") or []
        if len(history) > 1:
            # Visitors are assigned with the current allocation; events stamped before the last
            # re-weighting are validated against the version of their time and may be refused.
            self.stderr.write(
                f"note: bandit mode, allocation version {len(history)}: simulate the days since the last "
                "re-weighting only (--days 1 after each daily re-weighting)"
            )
        from catalog.models import Product

        product = Product.objects.filter(experiments__key=o["experiment"]).select_related("category").first()
        truths: dict | object = {}
        if o.get("model") == "text":
            from simulator.textmodel import TextModel

            model = TextModel(seed=o["text_seed"], weekday_effects=not o["no_weekday"])
            copies = {v["key"]: v["copy"] for v in config["variations"]}
            category = product.category.name if product else "FMCG"
            for key in allocation.variant_keys:
                truth = model.truth(copies[key], category)
                self.stdout.write(f"  {key}: text model, weekday-free CTR {truth.ctr:.3f}, CVR {truth.cvr:.3f}")
            truths = lambda key, at: model.truth(copies[key], category, at)  # noqa: E731
        for key in allocation.variant_keys if isinstance(truths, dict) else ():
            try:
                truths[key] = ArmTruth(ctr=ctr_spec[1].get(key, ctr_spec[0]), cvr=cvr_spec[1].get(key, cvr_spec[0]))
            except ValueError as exc:
                raise CommandError(f"variant {key}: {exc}") from None
        price = float(product.price) if product else 20.0
        events = traffic_events(
            allocation=allocation,
            units=o["units"],
            start=start,
            end=now - timedelta(seconds=1),
            truths=truths,
            price=price,
            seed=o["seed"],
        )
        posted = accepted = retries = 0
        rejected: list = []
        began = time.monotonic()
        batch: list[dict] = []
        for event in events:
            batch.append(event)
            if len(batch) == BATCH:
                accepted, retries = self._flush(client, batch, accepted, retries, rejected)
                posted += len(batch)
                batch = []
                if o["rate"]:
                    time.sleep(max(0.0, posted / o["rate"] - (time.monotonic() - began)))
        if batch:
            accepted, retries = self._flush(client, batch, accepted, retries, rejected)
            posted += len(batch)
        elapsed = time.monotonic() - began
        if accepted:
            # Whatever key posted them (one passed with --write-key may be a real storefront's), these
            # visitors are made up: the experiment's reports say so from now on.
            from experiments.services import experiments_mark_simulated

            experiments_mark_simulated(keys=[o["experiment"]])
        for key, truth in truths.items() if isinstance(truths, dict) else ():
            self.stdout.write(f"  {key}: true CTR {truth.ctr:.3f}, CVR {truth.cvr:.3f}")
        self.stdout.write(
            f"{o['units']} visitors: {posted} events posted, {accepted} accepted, {len(rejected)} "
            f"rejected, {retries} retried requests, {elapsed:.1f} s ({posted / max(elapsed, 1e-9):.0f}"
            " events/s)"
        )
        if rejected:
            self.stderr.write(f"first rejection: {rejected[0]}")

    def _flush(self, client, batch, accepted, retries, rejected):
        result = client.post_events(batch)
        rejected.extend(result.rejected)
        return accepted + result.accepted, retries + result.retries
