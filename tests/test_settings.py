"""Settings come from the environment and fail loudly, naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _start(env_overrides: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "ENVIRONMENT", "DEBUG", "ALLOWED_HOSTS"}}
    env.update(env_overrides)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
        ({"CELERY_BROKER_URL": "kafka://x"}, "CELERY_BROKER_URL"),
        ({"CELERY_VISIBILITY_TIMEOUT": "soon"}, "CELERY_VISIBILITY_TIMEOUT"),
        ({"GENERATOR_DEVICE": "tpu"}, "GENERATOR_DEVICE"),
        ({"COPYLIFT_REPORT_SEQUENTIAL_METHOD": "bayes"}, "COPYLIFT_REPORT_SEQUENTIAL_METHOD"),
        ({"COPYLIFT_REPORT_CORRECTION": "bonferroni"}, "COPYLIFT_REPORT_CORRECTION"),
        ({"COPYLIFT_REPORT_SEQUENTIAL_TUNING_N": "many"}, "COPYLIFT_REPORT_SEQUENTIAL_TUNING_N"),
        ({"COPYLIFT_REPORT_MINIMUM_LIFT": "1.5"}, "COPYLIFT_REPORT_MINIMUM_LIFT"),
        ({"COPYLIFT_REPORT_CAPS": "orders:p99,visits:5"}, "COPYLIFT_REPORT_CAPS"),
        ({"COPYLIFT_REPORT_CAPS": "orders=5"}, "COPYLIFT_REPORT_CAPS"),
        ({"COPYLIFT_REPORT_CAPS": "clicks:0"}, "COPYLIFT_REPORT_CAPS"),
        ({"COPYLIFT_REPORT_CAPS": "orders:p0"}, "COPYLIFT_REPORT_CAPS"),
        ({"COPYLIFT_REPORT_CAPS": "orders:p150"}, "COPYLIFT_REPORT_CAPS"),
        ({"COPYLIFT_REPORT_CUPED_LOOKBACK_DAYS": "120"}, "COPYLIFT_REPORT_CUPED_LOOKBACK_DAYS"),
        ({"GENERATOR_CLOSED_VOCABULARY": "maybe"}, "GENERATOR_CLOSED_VOCABULARY"),
        ({"ENVIRONMENT": "production"}, "SECRET_KEY"),
        # Issue case 8: production refuses a missing ALLOWED_HOSTS and a forced DEBUG.
        ({"ENVIRONMENT": "production", "SECRET_KEY": "x" * 60, "ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS"),
        ({"ENVIRONMENT": "production", "SECRET_KEY": "x" * 60, "ALLOWED_HOSTS": "a.example", "DEBUG": "1"}, "DEBUG"),
    ],
)
def test_bad_configuration_stops_start_up_naming_the_variable(overrides, variable):
    result = _start(overrides)
    assert result.returncode != 0
    assert "ConfigurationError" in result.stderr and variable in result.stderr


def test_production_with_secret_key_starts_without_debug():
    result = _start({"ENVIRONMENT": "production", "SECRET_KEY": "x" * 60, "ALLOWED_HOSTS": "shop.example"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_production_deploy_check_is_clean():
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG"}}
    env.update({"ENVIRONMENT": "production", "SECRET_KEY": "k" * 64 + "Zx9!", "ALLOWED_HOSTS": "shop.example"})
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("visibility_timeout", "sweep_at_most"),
    [(5, 1), (60, 12), (1500, 100), (3600, 100)],
)
def test_a_dead_workers_messages_are_swept_within_a_fifth_of_the_visibility_timeout(visibility_timeout, sweep_at_most):
    from abplatform.celery import unacked_restore_options

    options = unacked_restore_options(visibility_timeout)
    sweep = options["unacked_restore_interval"] * options["unacked_restore_throttle"]
    assert 1 <= sweep <= sweep_at_most
    assert options["unacked_restore_interval"] <= 10  # kombu's timer still ticks at least every 10 s
    # A sweeper killed holding the sweep's lock stalls every redelivery until the lock expires.
    assert 10 <= options["unacked_mutex_expire"] <= max(10, visibility_timeout // 5)


def test_the_broker_gets_the_sweep_options():
    from django.conf import settings

    from abplatform.celery import app

    options = app.conf.broker_transport_options
    assert options["visibility_timeout"] == settings.CELERY_VISIBILITY_TIMEOUT
    assert options["unacked_restore_interval"] * options["unacked_restore_throttle"] <= max(
        1, settings.CELERY_VISIBILITY_TIMEOUT // 5
    )
