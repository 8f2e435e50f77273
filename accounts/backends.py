"""The admin login's lockout (django-axes), for logins from a request only.

django-axes' backend refuses an ``authenticate()`` call without the request (it needs the client's address).
Logins without one are not attempts by a client over the network: the test client's ``login()``, a shell, a
management command. Those are passed on to the next backend unchecked; every login through a view (the admin's
login form) passes the request and is counted and locked out as django-axes does (kefu/settings/web.py: per client
address and per username, ``KEFU_AUTH_FAILURE_LIMIT`` failures in ``KEFU_AUTH_FAILURE_WINDOW_SECONDS``).
"""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend  # type: ignore[import-untyped]


class LoginLockoutBackend(AxesStandaloneBackend):
    def authenticate(self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
