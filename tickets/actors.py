"""Who does something to a ticket: a staff user, a buyer, the system timer, an integration or a marketplace
platform (a case decided on Taobao, Pinduoduo, …: the platform's timeout, the buyer acting there, 小二's ruling).

Every service takes an :class:`Actor`; the state machines decide with it who may run a transition
(``permission=`` on each django-fsm transition receives the actor), and the timeline records it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import models
from django.utils.translation import gettext_lazy as _

from routing.services import staff_member_departments

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from orders.models import Buyer


class ActorKind(models.TextChoices):
    STAFF = "staff", _("Staff")
    BUYER = "buyer", _("Buyer")
    SYSTEM = "system", _("System")
    INTEGRATION = "integration", _("Integration")
    PLATFORM = "platform", _("Marketplace platform")


class Role(models.TextChoices):
    """Who may run a transition. Departments are roles; so are the buyer, the system and integrations."""

    BUYER = "buyer", _("Buyer")
    OPERATIONS = "operations", _("Operations")
    WAREHOUSE = "warehouse", _("Warehouse")
    LOGISTICS = "logistics", _("Logistics")
    SUPERVISORS = "supervisors", _("Supervisors")
    SYSTEM = "system", _("System")
    INTEGRATION = "integration", _("Integration")
    # What a marketplace did on its own (connectors.services.ingest): declared per transition like any role.
    PLATFORM = "platform", _("Marketplace platform")


DEPARTMENT_ROLES = frozenset({Role.OPERATIONS, Role.WAREHOUSE, Role.LOGISTICS, Role.SUPERVISORS})


def staff_departments(user: User) -> frozenset[str]:
    """The departments a staff user works in: their ``routing.StaffMember`` departments, those a reinforcement
    in force moves them into (``routing.Reinforcement``), and the Django groups named after a default
    department's code (the admin's permission groups). Superusers count as supervisors.
    """
    if getattr(user, "is_superuser", False):
        return frozenset({Role.SUPERVISORS.value})
    if not user.pk:
        return frozenset()
    # Their departments and those a reinforcement in force moves them into (surge), in one statement: a
    # reinforcement stops at its end time here, whether or not its expiry was recorded yet.
    codes = set(staff_member_departments(user))
    codes |= set(user.groups.filter(name__in=[r.value for r in DEPARTMENT_ROLES]).values_list("name", flat=True))
    return frozenset(codes)


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    name: str
    user: User | None = None
    buyer: Buyer | None = None
    departments: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def staff(cls, user: User, *, departments: frozenset[str] | None = None) -> Actor:
        return cls(
            kind=ActorKind.STAFF,
            name=user.get_username(),
            user=user,
            departments=staff_departments(user) if departments is None else departments,
        )

    @classmethod
    def for_buyer(cls, buyer: Buyer) -> Actor:
        return cls(kind=ActorKind.BUYER, name=str(buyer), buyer=buyer)

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(kind=ActorKind.SYSTEM, name=name)

    @classmethod
    def integration(cls, name: str) -> Actor:
        return cls(kind=ActorKind.INTEGRATION, name=name)

    @classmethod
    def platform(cls, name: str) -> Actor:
        """A marketplace acting on a case (``name``: the platform, e.g. ``taobao``)."""
        return cls(kind=ActorKind.PLATFORM, name=name)

    @property
    def is_supervisor(self) -> bool:
        return self.kind == ActorKind.STAFF and Role.SUPERVISORS in self.departments

    def plays(self, roles: frozenset[str]) -> bool:
        """Whether this actor may act in one of ``roles``. Supervisors may act for every department.

        Staff play department roles only: a department whose code happens to be "buyer" or "system" (refused
        since issue 12, but possibly stored before) never lets its members act as the buyer or the system.
        """
        if self.kind == ActorKind.STAFF:
            if self.is_supervisor:
                return bool(roles & DEPARTMENT_ROLES)
            return bool(roles & self.departments & DEPARTMENT_ROLES)
        return self.kind.value in roles
