"""Per-write-key rate limit (requests per minute, INGEST_RATE_LIMIT_PER_MINUTE; 0 = off).

A fixed one-minute window counted in the process (one web process per core is the norm);
with several web nodes the effective limit is per node, which is stated in the README.
"""

from __future__ import annotations

import time

from django.conf import settings

_windows: dict[int, tuple[int, int]] = {}


def rate_limit_check(write_key_id: int) -> int | None:
    """None when the request may go on, else the seconds to wait (for Retry-After)."""
    limit = settings.INGEST_RATE_LIMIT_PER_MINUTE
    if limit <= 0:
        return None
    now = time.time()
    window = int(now // 60)
    current, count = _windows.get(write_key_id, (window, 0))
    if current != window:
        current, count = window, 0
    if count >= limit:
        return max(1, int(60 - now % 60) + 1)
    _windows[write_key_id] = (current, count + 1)
    return None
