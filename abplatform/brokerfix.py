"""One repair to kombu's Redis transport, so that a worker survives Redis dying under it.

Celery 5.7 closes the broken connection when the broker goes away
(`Consumer.on_connection_error_after_connected`). When Redis dies while a worker holds
unacknowledged messages, the channel's first close stops at its pending BRPOP read (a connection
error), the connection then drops its transport (`transport.client = None`), and the second close
tries to put the held messages back through a new connection pool built from that missing client:
`AttributeError: 'NoneType' object has no attribute 'hostname'`. That is no connection error, so
the worker takes it as unrecoverable and exits (seen in tests/hardening/test_faults.py under load;
kombu 5.7.0). The same error met any late acknowledgement on the old channel.

A transport without a client *is* a lost connection: this makes it one (redis' ConnectionError),
which kombu and Celery already handle: the close goes on, a late ack is logged, the worker
reconnects. Nothing is lost: the held messages stay in Redis' unacknowledged set and are
re-delivered after the visibility timeout, and the batches are idempotent (ingest.store) and kept
in the outbox until stored (ingest.outbox).
"""

from __future__ import annotations

from functools import wraps


def kombu_redis_closed_transport_is_a_connection_error() -> bool:
    """Patch kombu.transport.redis.Channel._connparams once; False where there is nothing to patch."""
    try:
        from kombu.transport import redis as kombu_redis
        from redis.exceptions import ConnectionError as RedisConnectionError
    except ImportError:  # no redis client installed: no Redis transport to repair
        return False
    original = kombu_redis.Channel._connparams
    if getattr(original, "copylift_repaired", False):
        return True

    @wraps(original)
    def _connparams(self, asynchronous: bool = False):
        if self.connection is None or self.connection.client is None:
            raise RedisConnectionError("the broker connection was closed (its transport has no client)")
        return original(self, asynchronous=asynchronous)

    _connparams.copylift_repaired = True  # type: ignore[attr-defined]
    kombu_redis.Channel._connparams = _connparams
    return True
