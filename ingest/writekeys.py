"""Storefront write keys: created once and shown once, stored as a SHA-256 hash, revocable.

Keys are 160+ bits of randomness, so a fast hash is enough (a slow password hash protects
low-entropy secrets); the lookup is by the public prefix, then a constant-time comparison.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from ingest.models import WriteKey

KEY_PREFIX = "cl"
AUTH_CACHE_TTL_SECONDS = 5.0
_auth_cache: dict[str, tuple[float, WriteKeyScope | None]] = {}


@dataclass(frozen=True, slots=True)
class WriteKeyScope:
    """What an authenticated write key may do: its experiments (None = all), the browser origins it
    may be used from (empty = any) and its requests per minute (0 = unlimited)."""

    id: int
    experiments: frozenset[str] | None
    origins: frozenset[str]
    rate_limit_per_minute: int | None  # None: INGEST_RATE_LIMIT_PER_MINUTE, read at each request
    simulated: bool = False  # posts simulated traffic: its experiments are labelled so in reports

    def allows_experiment(self, key: str) -> bool:
        return self.experiments is None or key in self.experiments

    def allows_origin(self, origin: str | None) -> bool:
        """Browsers send Origin with every POST; server-to-server posts have none. A key with
        allowed origins refuses any other origin, `null` (sandboxed frames, file://) included."""
        if not self.origins or origin is None:
            return True
        return origin.strip().rstrip("/").lower() in self.origins


def origins_parse(text: str) -> frozenset[str]:
    return frozenset(line.strip().rstrip("/").lower() for line in text.replace(",", "\n").splitlines() if line.strip())


def demo_write_key_path() -> Path:
    """Where the demo seeding keeps the demo storefront's clear key, for the demo store page and
    `simulate_traffic` (a development convenience: the file is a live credential)."""
    return settings.VAR_DIR / "demo_write_key"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def write_key_create(
    *, name: str, user: AbstractBaseUser | None = None, simulated: bool = False
) -> tuple[WriteKey, str]:
    """A new key and its clear text, which is returned here once and never stored. A `simulated`
    key is the simulator's or the demo's: the experiments it posts events for are labelled
    "simulated traffic" in their reports."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(24)
    clear = f"{KEY_PREFIX}_{prefix}_{secret}"
    write_key = WriteKey.objects.create(
        name=name,
        prefix=prefix,
        key_hash=_digest(clear),
        created_by=user if user and user.pk else None,
        simulated=simulated,
    )
    return write_key, clear


def write_key_revoke(*, write_key: WriteKey) -> WriteKey:
    if write_key.revoked_at is None:
        write_key.revoked_at = timezone.now()
        write_key.save(update_fields=["revoked_at"])
    _auth_cache.clear()
    return write_key


def write_key_authenticate(clear: str) -> int | None:
    """The id of the active write key `clear`, or None."""
    scope = write_key_scope(clear)
    return scope.id if scope is not None else None


def write_key_scope(clear: str) -> WriteKeyScope | None:
    """The scope of the active write key `clear`, or None. Cached for a few seconds per process."""
    now = time.monotonic()
    digest = _digest(clear)  # the cache is keyed by the digest: no clear key stays in memory
    hit = _auth_cache.get(digest)
    if hit is not None and hit[0] > now:
        return hit[1]
    scope = None
    parts = clear.split("_", 2)
    if len(parts) == 3 and parts[0] == KEY_PREFIX and len(clear) <= 128 and "\x00" not in clear:
        candidate = WriteKey.objects.filter(prefix=parts[1], revoked_at__isnull=True).first()
        if candidate is not None and hmac.compare_digest(candidate.key_hash, digest):
            experiments = frozenset(candidate.experiments.values_list("key", flat=True))
            scope = WriteKeyScope(
                id=candidate.pk,
                experiments=experiments or None,
                origins=origins_parse(candidate.allowed_origins),
                rate_limit_per_minute=candidate.rate_limit_per_minute,
                simulated=candidate.simulated,
            )
    if len(_auth_cache) > 10_000:  # bound memory against random-key floods
        _auth_cache.clear()
    _auth_cache[digest] = (now + AUTH_CACHE_TTL_SECONDS, scope)
    return scope


def write_key_cache_clear() -> None:
    _auth_cache.clear()
