"""Backfill events from a JSON-lines file through the same validation and storage as the API."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from ingest.accept import attributes_parse, event_validate
from ingest.models import WriteKey
from ingest.store import events_store

BATCH = 500
BACKFILL_KEY = "backfill (import_events)"


def _backfill_key() -> int:
    """Statistics of backfills are kept under a revoked key that can never authenticate."""
    key, _ = WriteKey.objects.get_or_create(
        name=BACKFILL_KEY, defaults={"prefix": "backfill", "key_hash": "-", "revoked_at": timezone.now()}
    )
    return key.pk


class Command(BaseCommand):
    help = "Import events from a JSON-lines file (one event per line, the API's schema)."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--quiet", action="store_true", help="no progress bar")

    def handle(self, *args, path: Path, quiet: bool, **options):
        try:
            total_bytes = path.stat().st_size
            handle = path.open("rb")
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
        write_key_id = _backfill_key()
        now = datetime.now(UTC)
        stored = duplicates = 0
        rejected: list[tuple[int, dict]] = []
        rows: list[list] = []
        attributes: list[list] = []  # [experiment id, unit, attributes] (ingest.accept.events_accept's)
        with handle, tqdm(total=total_bytes, unit="B", unit_scale=True, disable=quiet, file=self.stderr) as bar:
            for line_number, raw in enumerate(handle, start=1):
                bar.update(len(raw))
                if not raw.strip():
                    continue
                try:
                    event = json.loads(raw)
                except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                    rejected.append((line_number, {"line": f"not valid JSON: {exc}"}))
                    continue
                row, _, errors = event_validate(event, now=now)
                if errors:
                    rejected.append((line_number, errors))
                else:
                    rows.append(row)
                    if parsed := attributes_parse(event)[0]:
                        attributes.append([row[0], row[4], parsed])
                if len(rows) >= BATCH:
                    result = events_store(
                        batch_id=str(uuid.uuid4()), rows=rows, write_key_id=write_key_id, attributes=attributes
                    )
                    stored, duplicates, rows, attributes = (
                        stored + result.stored,
                        duplicates + result.duplicates,
                        [],
                        [],
                    )
            if rows:
                result = events_store(
                    batch_id=str(uuid.uuid4()), rows=rows, write_key_id=write_key_id, attributes=attributes
                )
                stored, duplicates = stored + result.stored, duplicates + result.duplicates
        for line_number, errors in rejected[:50]:
            reasons = "; ".join(f"{field}: {reason}" for field, reason in errors.items())
            self.stderr.write(f"line {line_number}: {reasons}")
        if len(rejected) > 50:
            self.stderr.write(f"... and {len(rejected) - 50} more rejected lines")
        self.stdout.write(f"{stored} accepted, {duplicates} duplicate, {len(rejected)} rejected")
        if rejected:
            raise CommandError(f"{len(rejected)} line(s) rejected (the valid ones were imported)")
