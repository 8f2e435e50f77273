"""The kefu Django project: settings, urls, the Celery app, wsgi/asgi. No business logic lives here."""

from kefu.celery import app as celery_app

__all__ = ["celery_app"]
