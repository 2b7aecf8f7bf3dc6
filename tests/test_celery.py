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
