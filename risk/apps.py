from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RiskConfig(AppConfig):
    name = "risk"
    verbose_name = _("Risk control")

    def ready(self) -> None:
        from risk.guards import flagged_buyer_refusal
        from risk.receivers import ticket_event_received
        from risk.wording import register_reasons
        from tickets.automation import automation_guard_register
        from tickets.models import TicketEvent
        from tickets.signals import ticket_event_recorded

        register_reasons()
        # A flagged buyer's ticket is never approved or refunded by the system alone (tickets.automation).
        automation_guard_register("risk.flagged_buyer", flagged_buyer_refusal)
        # Profiles follow the tickets: every timeline entry queues a refresh after its commit (risk.receivers).
        ticket_event_recorded.connect(ticket_event_received, sender=TicketEvent, dispatch_uid="risk.profiles")
