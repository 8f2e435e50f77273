"""Who may open the dashboard: supervisors and superusers (``Actor.is_supervisor``), as in the services."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User

from tickets.actors import Actor


def may_view_dashboard(user: User | AnonymousUser) -> bool:
    """Active staff who are supervisors: members of the supervisors department (or group), or superusers.

    Two queries for a non-superuser (their departments and groups), none for a superuser.
    """
    if not isinstance(user, User) or not (user.is_authenticated and user.is_active and user.is_staff):
        return False
    return Actor.staff(user).is_supervisor
