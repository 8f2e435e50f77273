"""``manage.py incident``: an incident's preview, start and deadline extension from the command line, through the
same services the admin calls (incidents.scope, incidents.services).

    python manage.py incident preview 12
    python manage.py incident start 12 --user supervisor1
    python manage.py incident extend 12 --hours 48 --user supervisor1

``start`` opens the tickets in this process (the chunks ``incident_open_tickets_task`` would run) and prints what
it did; ``--user`` is the staff member recorded as having done it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidents.models import Incident
from incidents.scope import incident_preview
from incidents.services import incident_deadlines_extend, incident_open_tickets, incident_start
from kefu.core.errors import DomainError
from tickets.actors import Actor


class Command(BaseCommand):
    help = "Preview, start or extend the deadlines of an incident (the admin's services, from the command line)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["preview", "start", "extend"])
        parser.add_argument("incident", type=int, help="the incident's id")
        parser.add_argument("--user", help="the staff member's username (start, extend)")
        parser.add_argument("--hours", type=float, help="extend: how many hours later the deadlines fall")
        parser.add_argument("--sample", type=int, default=10, help="preview: how many orders to list")

    def handle(self, *args: Any, **options: Any) -> None:
        incident = Incident.objects.prefetch_related("shops").filter(pk=options["incident"]).first()
        if incident is None:
            raise CommandError(f"No incident {options['incident']}.")
        action = options["action"]
        try:
            if action == "preview":
                self._preview(incident, options["sample"])
            elif action == "start":
                self._start(incident, self._actor(options["user"]))
            else:
                if not options["hours"] or options["hours"] <= 0:
                    raise CommandError("extend needs --hours above 0.")
                result = incident_deadlines_extend(
                    incident, timedelta(hours=options["hours"]), self._actor(options["user"])
                )
                self.stdout.write(
                    f"{result.extended} tickets moved, {result.capped} held at their platform deadline "
                    f"({result.flagged} newly flagged and escalated)."
                )
        except DomainError as exc:
            raise CommandError(exc.message) from exc

    def _actor(self, username: str | None) -> Actor:
        if not username:
            raise CommandError("--user is required: the staff member who does it.")
        user = get_user_model().objects.filter(username=username, is_active=True, is_staff=True).first()
        if user is None:
            raise CommandError(f"No active staff user {username!r}.")
        return Actor.staff(user)

    def _preview(self, incident: Incident, sample: int) -> None:
        preview = incident_preview(incident, sample=sample)
        self.stdout.write(f"{incident.title}: {preview.orders} orders, {preview.buyers} buyers match.")
        for order in preview.sample:
            shipments = getattr(order, "outbound_shipments", [])  # prefetched by incident_preview
            parcels = ", ".join(f"{s.carrier} {s.tracking_number} {s.status}" for s in shipments)
            self.stdout.write(f"  {order.number}  {order.buyer}  {order.shop.name}  {parcels}")

    def _start(self, incident: Incident, actor: Actor) -> None:
        incident = incident_start(incident, actor)
        result = incident_open_tickets(incident)
        self.stdout.write(
            f"{incident.title}: {result.opened} tickets opened, {result.linked} linked, {result.flagged} flagged, "
            f"{len(result.skipped)} orders skipped."
        )
        for reason in result.skipped[:20]:
            self.stdout.write(f"  skipped {reason}")
