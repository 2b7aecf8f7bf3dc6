"""The client's IP address, for rate limits and login lockouts.

REMOTE_ADDR is the connection's peer: behind a load balancer, the balancer. With
TRUSTED_PROXY_COUNT = N, the address N entries from the right of X-Forwarded-For is used (each
trusted proxy appends the address it received the request from); entries further left are the
client's own claims and are never trusted.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid(address: str | None) -> str | None:
    if not address:
        return None
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """A valid IP address, or None when there is none (e.g. a request built in a test): django-axes
    stores it in an address column, which refuses anything else."""
    remote = _valid(request.META.get("REMOTE_ADDR"))
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < proxies:
        return remote
    return _valid(forwarded[-proxies]) or remote
