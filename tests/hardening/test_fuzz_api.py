"""Fuzz every operation of the project's own OpenAPI schema (/api/schema/) with schemathesis.

Each operation gets positive (schema-valid) and negative (schema-violating) requests, called
in-process through Django's WSGI handler. Every response must be non-5xx, documented, and match
its documented schema and media type. The management API is called as a Marketer (DRF token),
events with a write key. Generated requests are nudged, some of the time, towards the data
that exists (a running and a draft experiment, the fixture product), so that the fuzz reaches
past the 404s into lifecycle transitions, stored events and real validation.

Storage invariant: an event is stored only from an accepted request (202), and never one that
the response listed as rejected.

Bounded: MAX_EXAMPLES per operation and mode (≥ 1,000 requests in all; ~30 s on the CI
machine). Deterministic by default (derandomized); FUZZ_EXAMPLES raises the count, and
FUZZ_RANDOM=1 draws new inputs each run.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import schemathesis
from django.db import DatabaseError, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core import NOT_SET
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ingest.models import Event
from tests.hardening.conftest import DRAFT_KEY, RUNNING_KEY

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "50"))
MIN_REQUESTS = 1_000
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
SCHEMA_PATH = "/api/schema/"


def _load_schema(app, token: str) -> schemathesis.BaseSchema:
    # The schema is served to the roles only (anonymous visitors see the storefront endpoints).
    return schemathesis.openapi.from_wsgi(SCHEMA_PATH, app, headers={"Authorization": f"Token {token}"})


def _needs_user(operation) -> bool:
    security = operation.definition.raw.get("security", [{}])
    return any(requirement for requirement in security)


def _existing_keys() -> list[str]:
    return [RUNNING_KEY, DRAFT_KEY]


def _nudge(case, draw, product_sku: str) -> None:
    """Point part of the generated data at objects that exist; the rest stays as generated."""
    path = case.operation.path
    if case.path_parameters and "key" in case.path_parameters and draw(st.booleans()):
        case.path_parameters["key"] = draw(st.sampled_from(_existing_keys()))
    if path.endswith("/assign") and isinstance(case.query, dict) and draw(st.booleans()):
        case.query["experiment"] = RUNNING_KEY
    body = case.body
    creating = path == "/api/v1/experiments" and case.method.upper() == "POST"
    if creating and isinstance(body, dict) and draw(st.booleans()):
        body["product"] = product_sku
    if path.endswith("/events") and isinstance(body, dict) and isinstance(body.get("events"), list):
        now = datetime.now(UTC)
        for event in body["events"]:
            if isinstance(event, dict) and draw(st.integers(0, 3)) > 0:
                event["experiment"] = RUNNING_KEY
                if draw(st.booleans()):
                    event["ts"] = (now - timedelta(seconds=draw(st.integers(0, 86_400)))).isoformat()
                if event.get("type") != "order" and "revenue" in event and draw(st.booleans()):
                    event.pop("revenue")


def _event_ids(body) -> list[tuple[int, object]]:
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        return []
    return [(i, e.get("event_id")) for i, e in enumerate(body["events"]) if isinstance(e, dict)]


def _check_storage(case, response, stored_before: set[str]) -> None:
    """No event stored from a refused request, nor one the response rejected."""
    stored_after = set(Event.objects.values_list("event_id", flat=True))
    new = stored_after - stored_before
    if response.status_code != 202:
        assert not new, f"HTTP {response.status_code} but stored {sorted(new)[:5]}"
        return
    data = response.json()
    assert len(new) <= data["accepted"], (len(new), data["accepted"])
    rejected = {item["index"] for item in data["rejected"]}
    offered = _event_ids(case.body)
    accepted_ids = {eid for i, eid in offered if i not in rejected}
    for index, event_id in offered:
        if index in rejected and isinstance(event_id, str) and event_id not in accepted_ids:
            assert event_id not in new, f"rejected event {index} ({event_id!r}) was stored"
    assert new <= {eid for eid in accepted_ids if isinstance(eid, str)}


def _fuzz(operation, mode, headers: dict, product_sku: str, counts: Counter, statuses: Counter) -> None:
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=os.environ.get("FUZZ_RANDOM") != "1",
        suppress_health_check=list(HealthCheck),
        phases=("explicit", "generate"),  # no shrinking: a failure is reported as found
    )
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def fuzz(case, data):
        _nudge(case, data.draw, product_sku)
        before = set(Event.objects.values_list("event_id", flat=True)) if "events" in operation.path else None
        response = None
        try:
            # A savepoint per request, as autocommit gives each request in production: a database
            # error that made a 500 must not abort the test's transaction for all later requests.
            with transaction.atomic():
                response = case.call(headers=headers)
        except DatabaseError:
            assert response is not None  # rolled back to the savepoint; the 500 fails the checks below
        counts[operation.label] += 1
        statuses[response.status_code] += 1
        checks = CHECKS
        if response.status_code == 415 and case.body is not NOT_SET:
            # DRF answers any request body in a media type it has no parser for with 415, which
            # drf-spectacular leaves out of each operation's responses: allowed, in the error shape.
            assert "error" in response.json(), response.text
            checks = [c for c in CHECKS if c is not status_code_conformance]
        case.validate_response(response, checks=checks, headers=headers)
        if before is not None:
            _check_storage(case, response, before)

    fuzz()


def test_every_operation_survives_fuzzing(wsgi_app, running_experiment, make_experiment, marketer_token, write_key):
    make_experiment(DRAFT_KEY)
    product_sku = running_experiment.product.sku
    _, clear_key = write_key
    schema = _load_schema(wsgi_app, marketer_token)
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = {op.label for op in operations}
    # The storefront and management API must be in the schema, so that none escapes the fuzz.
    assert {"GET /api/v1/assign", "POST /api/v1/events", "GET /api/v1/experiments/{key}/config"} <= labels
    assert {"POST /api/v1/experiments", "PATCH /api/v1/experiments/{key}"} <= labels

    requests_by_operation: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    for operation in operations:
        if operation.path.endswith("/events"):
            headers = {"Authorization": f"Bearer {clear_key}"}
        elif _needs_user(operation):
            headers = {"Authorization": f"Token {marketer_token}"}
        else:
            headers = {}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation, mode, headers, product_sku, requests_by_operation, statuses)
            except Unsatisfiable:
                # Nothing in this operation can be made schema-invalid (e.g. no parameters, no body).
                assert mode is GenerationMode.NEGATIVE, f"{operation.label}: no valid request can be generated"
            except (
                Exception,
                BaseExceptionGroup,
            ) as exc:  # collect every operation's failure, then report them together
                failures.append(f"{operation.label} [{mode.value}]: {type(exc).__name__}: {exc}"[:3000])

    total = sum(requests_by_operation.values())
    summary = json.dumps({"total": total, "statuses": dict(sorted(statuses.items())), **requests_by_operation})
    print(f"fuzzed requests: {summary}")
    assert not failures, "\n\n".join(failures)
    assert total >= MIN_REQUESTS, summary
    assert set(requests_by_operation) == labels, "an operation was never called"
    assert statuses[202] > 0 and any(200 <= s < 300 for s in statuses if s != 202), "fuzz never got past refusals"
    assert Event.objects.exists(), "no fuzzed event was ever accepted and stored"
