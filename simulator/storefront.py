"""A small HTTP client of the storefront API, for the traffic simulator and benchmarks.

It speaks to the server only over HTTP, as a real storefront would: it reads the experiment's
config, assigns units locally (like a GrowthBook SDK) and posts event batches, retrying on 429
and 503 as the API asks.
"""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from experiments.hashing import Allocation


class StorefrontError(Exception):
    """The server refused a request for a reason retrying cannot fix."""


@dataclass
class PostResult:
    accepted: int
    rejected: list
    retries: int


class StorefrontClient:
    def __init__(self, base_url: str, write_key: str | None = None, timeout: float = 30.0):
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._timeout = timeout
        self._write_key = write_key
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._conn = cls(self._host, self._port, timeout=self._timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        """(status, headers, parsed JSON body); reconnects once on a dropped keep-alive connection."""
        for attempt in range(2):
            conn = self._connection()
            try:
                conn.request(method, path, body=body, headers=headers or {})
                response = conn.getresponse()
                raw = response.read()
                break
            except (ConnectionError, http.client.HTTPException, OSError):
                self.close()
                if attempt:
                    raise
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = None
        return response.status, dict(response.getheaders()), data

    def allocation(self, experiment: str) -> tuple[Allocation, dict]:
        status, _, config = self.request("GET", f"/api/v1/experiments/{experiment}/config")
        if status != 200:
            raise StorefrontError(f"config of {experiment!r}: HTTP {status} {config}")
        allocation = Allocation.build(
            key=config["key"],
            seed=config["seed"],
            variant_keys=[v["key"] for v in config["variations"]],
            weights=config["weights"],
            coverage=config["coverage"],
            namespace=tuple(config["namespace"]) if config.get("namespace") else None,
            active=config["active"],
            holdout=(config.get("bandit") or {}).get("holdout", 0.0),
        )
        return allocation, config

    def post_events(self, events: list[dict], max_retries: int = 8) -> PostResult:
        body = json.dumps({"events": events}).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self._write_key}"}
        for attempt in range(max_retries + 1):
            status, response_headers, data = self.request("POST", "/api/v1/events", body, headers)
            if status == 202:
                return PostResult(accepted=data["accepted"], rejected=data["rejected"], retries=attempt)
            if status in (429, 503) and attempt < max_retries:
                wait = float(response_headers.get("Retry-After") or 0) or 0.25 * 2**attempt
                time.sleep(min(wait, 10.0))
                continue
            raise StorefrontError(f"events: HTTP {status} {data}")
        raise StorefrontError("events: retries exhausted")
