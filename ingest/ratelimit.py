"""Rate limits of the events endpoint, shared by every web process and node.

Fixed one-minute windows counted in the database (one upsert per bucket and request, the same
SQL on PostgreSQL and SQLite), so the limit holds however many web processes serve the API:
- per write key: the key's own `rate_limit_per_minute`, else INGEST_RATE_LIMIT_PER_MINUTE;
- per client IP: INGEST_RATE_LIMIT_PER_IP_PER_MINUTE, before the key is even looked at.
0 turns a limit off. Windows older than two minutes are deleted now and then.
"""

from __future__ import annotations

import random
import time

from django.conf import settings
from django.db import connection

from ingest.models import RateLimitWindow

# "window" and "count" are SQL keywords: quoted (double quotes serve PostgreSQL and SQLite alike).
_TABLE = RateLimitWindow._meta.db_table
_UPSERT = (
    f'INSERT INTO {_TABLE} (bucket, "window", "count") VALUES (%s, %s, 1) '  # noqa: S608 (a constant)
    f'ON CONFLICT (bucket, "window") DO UPDATE SET "count" = {_TABLE}."count" + 1 RETURNING "count"'
)
_CLEANUP_PROBABILITY = 0.01


def rate_limit_hit(bucket: str, limit: int) -> int | None:
    """Count one request in `bucket`; None when it may go on, else the seconds to wait (Retry-After)."""
    if limit <= 0:
        return None
    now = time.time()
    window = int(now // 60)
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, [bucket[:80], window])
        (count,) = cursor.fetchone()
    if random.random() < _CLEANUP_PROBABILITY:
        RateLimitWindow.objects.filter(window__lt=window - 1).delete()
    if count > limit:
        return max(1, int(60 - now % 60) + 1)
    return None


def rate_limit_check(write_key_id: int, limit: int | None = None) -> int | None:
    """The write key's limit (its own, else INGEST_RATE_LIMIT_PER_MINUTE)."""
    return rate_limit_hit(f"key:{write_key_id}", settings.INGEST_RATE_LIMIT_PER_MINUTE if limit is None else limit)


def rate_limit_check_ip(ip: str) -> int | None:
    return rate_limit_hit(f"ip:{ip}", settings.INGEST_RATE_LIMIT_PER_IP_PER_MINUTE)
