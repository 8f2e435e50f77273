"""kefu settings, read from environment variables (docs/operations.md lists them all), one module per area in
``kefu/conf/``.

Embedded defaults run the whole system on one machine with nothing else installed: a SQLite file and
kombu's filesystem transport as broker, both under ``var/``, with ``DJANGO_DEBUG=true`` (``make run`` and
``make test`` set it; pytest and mypy load ``kefu.settings_dev``, which does). DEBUG is off by default, and then a
real ``DJANGO_SECRET_KEY`` is required. Production sets ``DATABASE_URL`` (PostgreSQL), ``CELERY_BROKER_URL`` and
``CACHE_URL`` (Redis) and ``DJANGO_SECRET_KEY``; ``manage.py check --deploy`` names what is still a demo default
(kefu/checks.py).
"""

# In this order (a later module may change what an earlier one set: MIDDLEWARE, STORAGES, CELERY_BEAT_SCHEDULE).
from kefu.conf.framework import *  # noqa: F403

# isort: split
from kefu.conf.web import *  # noqa: F403

# isort: split
from kefu.conf.product import *  # noqa: F403

# isort: split
from kefu.conf.connectors import *  # noqa: F403

# isort: split
from kefu.conf.risk import *  # noqa: F403

# isort: split
from kefu.conf.money import *  # noqa: F403

# isort: split
from kefu.conf.quality import *  # noqa: F403

# isort: split
from kefu.conf.incidents import *  # noqa: F403
from kefu.conf.surge import *  # noqa: F403
