"""The Copylift Django project (the design card's `platform`)."""

from abplatform.celery import app as celery_app

__all__ = ("celery_app",)
