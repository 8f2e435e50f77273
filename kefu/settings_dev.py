"""Development and test settings: ``kefu.settings`` with DEBUG on unless ``DJANGO_DEBUG`` says otherwise.

``DJANGO_DEBUG`` defaults to false in ``kefu.settings``, which then refuses to start without a real secret key.
pytest and mypy's Django plugin (pyproject.toml) load this module instead, so the test suite and the type check
run on a developer's machine with nothing set; processes the tests start (Celery workers, gunicorn) inherit
``DJANGO_DEBUG=true`` from here. ``make run`` exports ``DJANGO_DEBUG=true`` itself. Production uses
``kefu.settings`` (``manage.py``, ``kefu.wsgi``, ``kefu.celery``).
"""

import os

os.environ.setdefault("DJANGO_DEBUG", "true")

from kefu.settings import *  # noqa: E402, F403  (every setting, read after DJANGO_DEBUG is decided)
