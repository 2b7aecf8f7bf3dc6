"""The Celery app: every task names one of the listed queues, and every beat entry names a task."""

from abplatform.celery import QUEUES, app

APPS = {"ingest", "generator", "analytics"}


def test_every_task_declares_one_of_the_listed_queues():
    app.loader.import_default_modules()
    ours = {name: task for name, task in app.tasks.items() if name.split(".")[0] in APPS}
    assert {name.split(".")[0] for name in ours} == APPS
    assert {name: task.queue for name, task in ours.items() if task.queue not in QUEUES} == {}


def test_every_beat_entry_runs_a_registered_task():
    app.loader.import_default_modules()
    assert all(entry["task"] in app.tasks for entry in app.conf.beat_schedule.values())


def test_a_redis_transport_without_its_client_fails_as_a_lost_connection(tmp_path):
    """abplatform.brokerfix: the close Celery 5.7 gives a broken connection must not end the worker.

    Reproduced on a private redis-server: a message held unacknowledged, then the connection drops its
    transport as the consumer's cleanup does; closing the channel and acknowledging late must fail as
    connection errors (handled), never as the AttributeError that made the worker exit."""
    import shutil
    import uuid

    import pytest
    from kombu import Connection
    from kombu.transport import redis as kombu_redis

    from tests.conftest import require
    from tests.hardening.faults import RedisServer

    require(shutil.which("redis-server") is not None, "needs the redis-server binary")
    assert getattr(kombu_redis.Channel._connparams, "copylift_repaired", False), "the Celery app applies the repair"
    server = RedisServer(tmp_path / "redis").start()
    try:
        connection = Connection(server.url)
        queue = connection.SimpleQueue(f"brokerfix-{uuid.uuid4().hex}")
        queue.put({"n": 1})
        message = queue.get(timeout=5)  # delivered, not acknowledged: the channel holds it
        channel = queue.channel
        errors = connection.connection_errors + connection.channel_errors
        connection._do_close_transport()  # as Connection.collect() leaves it

        with pytest.raises(AttributeError):  # the bug itself, unrepaired: remove the repair once this fails
            kombu_redis.Channel._connparams.__wrapped__(channel)
        connection.maybe_close_channel(channel)  # restores through a new pool: AttributeError before the repair
        with pytest.raises(errors):
            message.ack()
    finally:
        server.stop()
