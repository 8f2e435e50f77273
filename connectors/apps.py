from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConnectorsConfig(AppConfig):
    name = "connectors"
    verbose_name = _("Marketplace connectors")

    def ready(self) -> None:
        import connectors.checks  # noqa: F401  (registers the deploy check)

        # Registers the tasks the services queue by name after their commits (the tasks module imports them).
        import connectors.tasks  # noqa: F401
        from connectors.services.writeback import writeback_event_received
        from tickets.models import TicketEvent
        from tickets.signals import ticket_event_recorded

        # Staff decisions on a platform's case become write-back commands in the decision's own transaction.
        ticket_event_recorded.connect(writeback_event_received, sender=TicketEvent, dispatch_uid="connectors.writeback")
