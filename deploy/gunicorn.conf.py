"""gunicorn settings for kefu's web process (``gunicorn -c deploy/gunicorn.conf.py kefu.wsgi``).

Everything can be overridden by gunicorn's own environment variable, ``GUNICORN_CMD_ARGS``; the few kefu sets
from its environment are named below. docs/operations.md explains each choice.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Sync workers: each request holds one process; 2-4 per core. WEB_CONCURRENCY is the common name for it.
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
worker_class = "sync"
# A request that takes longer than this is killed (the proxy in front gives up a little later, see nginx).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so no slow leak grows for weeks; jitter keeps them from restarting together.
max_requests = 2000
max_requests_jitter = 200
# The proxy on the same host (or the addresses in FORWARDED_ALLOW_IPS) may set X-Forwarded-Proto.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = "-"
errorlog = "-"
# Requests larger than this never reach Django (header fields; the body limit is Django's and the proxy's).
limit_request_field_size = 8190


def child_exit(server, worker):  # noqa: ANN001, ARG001 - gunicorn's hook signature
    """Prometheus multiprocess mode: forget a dead worker's live gauges (docs/operations.md, metrics)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
