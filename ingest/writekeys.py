"""Storefront write keys: created once and shown once, stored as a SHA-256 hash, revocable.

Keys are 160+ bits of randomness, so a fast hash is enough (a slow password hash protects
low-entropy secrets); the lookup is by the public prefix, then a constant-time comparison.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from ingest.models import WriteKey

KEY_PREFIX = "cl"
AUTH_CACHE_TTL_SECONDS = 5.0
_auth_cache: dict[str, tuple[float, int | None]] = {}


def demo_write_key_path() -> Path:
    """Where the demo seeding keeps the demo storefront's clear key, for the demo store page and
    `simulate_traffic` (a development convenience: the file is a live credential)."""
    return settings.VAR_DIR / "demo_write_key"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def write_key_create(*, name: str, user: AbstractBaseUser | None = None) -> tuple[WriteKey, str]:
    """A new key and its clear text, which is returned here once and never stored."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(24)
    clear = f"{KEY_PREFIX}_{prefix}_{secret}"
    write_key = WriteKey.objects.create(
        name=name, prefix=prefix, key_hash=_digest(clear), created_by=user if user and user.pk else None
    )
    return write_key, clear


def write_key_revoke(*, write_key: WriteKey) -> WriteKey:
    if write_key.revoked_at is None:
        write_key.revoked_at = timezone.now()
        write_key.save(update_fields=["revoked_at"])
    _auth_cache.clear()
    return write_key


def write_key_authenticate(clear: str) -> int | None:
    """The id of the active write key `clear`, or None. Cached for a few seconds per process."""
    now = time.monotonic()
    digest = _digest(clear)  # the cache is keyed by the digest: no clear key stays in memory
    hit = _auth_cache.get(digest)
    if hit is not None and hit[0] > now:
        return hit[1]
    key_id = None
    parts = clear.split("_", 2)
    if len(parts) == 3 and parts[0] == KEY_PREFIX and len(clear) <= 128:
        candidate = WriteKey.objects.filter(prefix=parts[1], revoked_at__isnull=True).only("id", "key_hash").first()
        if candidate is not None and hmac.compare_digest(candidate.key_hash, digest):
            key_id = candidate.pk
    if len(_auth_cache) > 10_000:  # bound memory against random-key floods
        _auth_cache.clear()
    _auth_cache[digest] = (now + AUTH_CACHE_TTL_SECONDS, key_id)
    return key_id
