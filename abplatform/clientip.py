"""The client's IP address, for rate limits and login lockouts.

REMOTE_ADDR is the connection's peer: behind a load balancer, the balancer. With
TRUSTED_PROXY_COUNT = N, the address N entries from the right of X-Forwarded-For is used (each
trusted proxy appends the address it received the request from); entries further left are the
client's own claims and are never trusted.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < proxies:
        return remote
    return forwarded[-proxies][:45]  # the longest textual IPv6 address
