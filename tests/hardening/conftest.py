"""Fixtures for the hardening tests: a running experiment, a write key, a Marketer's API token,
and Django's WSGI application as the test client runs it (in-process, in the test's transaction)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

RUNNING_KEY = "pulse-copy"
DRAFT_KEY = "pulse-draft"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """The role fixtures create users with passwords; PBKDF2 would cost ~0.3 s per user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def running_experiment(make_experiment):
    return make_experiment(RUNNING_KEY, started_ago=timedelta(days=2))


@pytest.fixture
def marketer_token(marketer) -> str:
    from rest_framework.authtoken.models import Token

    return Token.objects.create(user=marketer).key


@pytest.fixture
def wsgi_app(db):
    """Django's WSGI handler for in-process calls. Like django.test.Client, it must not close the
    database connection at the end of each request: that connection holds the test transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
